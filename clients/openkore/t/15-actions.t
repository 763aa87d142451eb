use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib", "$Bin/../openkoreAI";
use Test::More;
use OAITest::World;
use Globals;
use OpenkoreAI::Actions;

# Every engine action type to the console command that performs it, the ids resolved to what
# the commands take, and the refusals.

my $world = OAITest::World->new(x => 100, y => 100,
	skills    => { AL_HEAL => { ID => 28, lv => 10, sp => 40 }, AL_TELEPORT => { ID => 26, lv => 2, sp => 10 } },
	monsters  => [{ id => 110_001, name => 'Poring', x => 103, y => 104 }, { id => 110_002, name => 'Drops', x => 100, y => 101 }],
	players   => [{ id => 2_000_123, name => 'Alice', x => 106, y => 108 }],
	inventory => [{ id => 909, name => 'Jellopy', amount => 0 }, { id => 501, name => 'Red Potion', amount => 7 }, { id => 601, name => 'Fly Wing', amount => 2 }]);

sub command {
	my ($type, $params, %o) = @_;
	my $plan = OpenkoreAI::Actions::translate($type, $params, %o);
	return $plan->{command} // ($plan->{fail} ? "FAIL $plan->{fail}" : $plan->{none} ? 'NONE' : 'NOTHING');
}

my @cases = (
	[ATTACK => { target_id => 110_002 }, 'a 1', 'attack by server id'],
	[ATTACK => { target_index => 0 }, 'a 0', 'attack by list index'],
	[ATTACK => { target_id => 999 }, 'FAIL target_not_found', 'a monster out of sight'],
	[ATTACK => {}, 'FAIL bad_params', 'no target'],
	[MOVE_TO => { x => 120, y => 130 }, 'move 120 130', 'a move on this map'],
	[MOVE_TO => { map => 'prt_fild08', x => 120, y => 130, flee => 1 }, 'move 120 130', 'this map named'],
	[MOVE_TO => { map => 'prontera', x => 150, y => 180 }, 'move 150 180 prontera', 'to another map'],
	[MOVE_TO => { map => 'prontera' }, 'move prontera', 'to a map'],
	[MOVE_TO => { map => 'pron;;tera', x => 1, y => 2 }, 'FAIL bad_params', 'a map name that is not one'],
	[MOVE_TO => { x => 'west' }, 'FAIL bad_params', 'no coordinates'],
	[USE_ITEM => { item_id => 501, item_name => 'Red Potion' }, 'is 1', 'an item by id'],
	[USE_ITEM => { item => 'fly wing' }, 'is 2', 'an item by name, any case'],
	[USE_ITEM => { item_id => 909 }, 'FAIL item_not_found', 'none left'],
	[USE_ITEM => { item_name => 'Yggdrasil Berry' }, 'FAIL item_not_found', 'not in the inventory'],
	[USE_SKILL => { skill_id => 28 }, 'ss AL_HEAL', 'a skill by id, on self'],
	[USE_SKILL => { skill => 'AL_HEAL', level => 5, target_type => 'player', target_id => 2_000_123 }, 'sp AL_HEAL 0 5', 'on a player'],
	[USE_SKILL => { skill => 'al_heal', target_type => 'monster', target_index => 1 }, 'sm AL_HEAL 1', 'on a monster, handle in any case'],
	[USE_SKILL => { skill => 'Storm Gust', target_type => 'location', x => 10, y => 20, level => 3 }, 'sl "Storm Gust" 10 20 3', 'a skill name OpenKore resolves, quoted'],
	[USE_SKILL => { skill => 'AL_HEAL', target_type => 'ground' }, 'sl AL_HEAL 100 100', 'on the ground where the character stands'],
	[USE_SKILL => { skill_id => 5 }, 'FAIL skill_not_learned', 'a skill not learned'],
	[USE_SKILL => { skill => 'AL_HEAL', target_type => 'monster', target_id => 1 }, 'FAIL target_not_found', 'a target out of sight'],
	[TELEPORT => { method => 'item', item_id => 601 }, 'is 2', 'teleport with the wing'],
	[TELEPORT => { method => 'item', item_id => 602 }, 'tele', 'no such wing: OpenKore\'s own teleport'],
	[TELEPORT => { method => 'skill', skill_id => 26 }, 'tele', 'teleport skill'],
	[TELEPORT => { method => 'respawn' }, 'respawn', 'to the save point'],
	[SIT => {}, 'sit', 'sit'],
	[STAND => {}, 'stand', 'stand'],
	[CHANGE_STATE => { state => 'respawn' }, 'respawn', 'respawn'],
	[CHANGE_STATE => { ai => 'auto' }, 'ai on', 'AI on'],
	[CHANGE_STATE => { ai => 'sideways' }, 'FAIL unsupported_action', 'an AI state OpenKore lacks'],
	[PICK_ITEM => { item_index => 3 }, 'take 3', 'pick up'],
	[TALK_NPC => { npc_index => 2 }, 'talk 2', 'talk by index'],
	[TALK_NPC => { x => 150, y => 160, sequence => 'c r0 n' }, 'talknpc 150 160 c r0 n', 'talk by place'],
	[STORAGE_PUT => { what => 'loot' }, 'autostorage', 'store the loot: OpenKore\'s auto-storage'],
	[STORAGE_PUT => { item => 'Jellopy', amount => 10 }, 'storage add Jellopy 10', 'store an item'],
	[STORAGE_GET => { item => 'Red Potion' }, 'storage get Red Potion', 'take from storage'],
	[STORAGE_GET => {}, 'FAIL bad_params', 'take nothing'],
	[SEND_COMMAND => { command => 'c hello' }, 'c hello', 'a console command'],
	[SEND_COMMAND => { message => 'hi all' }, 'c hi all', 'public chat'],
	[SEND_COMMAND => { message => 'go', channel => 'party' }, 'p go', 'party chat'],
	[SEND_COMMAND => { message => 'gg', channel => 'guild' }, 'g gg', 'guild chat'],
	[SEND_COMMAND => { message => 'psst', channel => 'whisper', to => 'Bob the Great' }, 'pm "Bob the Great" psst', 'a whisper, the name quoted'],
	[SEND_COMMAND => { message => 'hi;;quit' }, 'FAIL bad_params', 'no command smuggled into a message'],
	[SEND_COMMAND => {}, 'FAIL bad_params', 'nothing to say'],
	[EXECUTE_MACRO => { macro => 'farmLoop' }, 'eventMacro farmLoop', 'the bot\'s own eventMacro'],
	[EXECUTE_MACRO => { macro => 'x y' }, 'FAIL bad_params', 'a macro name that is not one'],
	[NO_ACTION => {}, 'NONE', 'nothing to do'],
	[DANCE => {}, 'FAIL unsupported_action', 'an unknown type'],
	[DANCE => { command => 'e 3' }, 'e 3', 'an unknown type carrying its command'],
	['ATTACK::X' => { command => 'e 3' }, 'e 3', 'a type that is not a name'],
	[undef, {}, 'FAIL unsupported_action', 'no type'],
	[ATTACK => 'not params', 'FAIL bad_params', 'params that are not an object'],
);
for my $case (@cases) {
	my ($type, $params, $want, $what) = @$case;
	is(command($type, $params), $want, $what);
}

is(command(ATTACK => { target_index => 0, command => "a 0;;c multi\nline" }, macro => 1), 'a 0;;c multi line', 'a macro\'s command runs as written (one line)');
is(command(SIT => { command => '  ' }, macro => 1), 'sit', 'a macro action without a command falls back to its type');
is(OpenkoreAI::Actions::translate(ATTACK => { target_id => 110_001 })->{target}, pack('V', 110_001), 'an attack names its target\'s ID (to see it is already under attack)');
is_deeply(OpenkoreAI::Actions::translate(MOVE_TO => { x => 1, y => 2 })->{move}, { map => 'prt_fild08', x => 1, y => 2 }, 'a move names its destination');

done_testing;

use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib";
use Test::More;
use OAITest::World;
use OAITest::Engine qw();
use Globals;
use Commands;
use Log ();
use Plugins;

# Against the real engine: the handshake, a versioned state every tick, the engine's decisions
# executed as console commands and fed back; a dying character heals, escapes or flees.

OAITest::Engine::require_engine();
*api = \&OAITest::Engine::api;

my %settings = (openkoreAI_url => OAITest::Engine::url(), openkoreAI_token => OAITest::Engine::token(), openkoreAI_tick => 0);
my $run = 0;

sub bot {
	my (%o) = @_;
	my $world = OAITest::World->new(name => 'Hero' . $$ . 'n' . ++$run, %o);
	$config{attackAuto} = 2;
	my $plugin = $world->load_plugin(%settings);
	return ($world, $plugin);
}

subtest 'handshake, then each tick a versioned state and the decision executed and fed back' => sub {
	my ($world, $plugin) = bot(monsters => [{ id => 50001, name => 'Poring', x => 103, y => 101 }]);
	$world->tick;
	my $sid = $plugin->{session_id};
	like($sid, qr/^[0-9a-f-]{36}$/, 'a session id from the handshake');
	my $session = api(GET => "/api/v1/sessions/$sid")->{data};
	is($session->{character_name}, $char->{name}, 'the session names the character');
	is($session->{client}, 'openkore', 'and the client');
	ok((grep { $_ eq 'expected_version' } @{$session->{capabilities}}), 'and the plugin\'s capabilities');

	is($plugin->{last}{type}, 'ATTACK', 'the engine says attack the Poring');
	is($plugin->{last}{params}{target_id}, 50001, 'by the server id the plugin sent');
	is_deeply(\@Commands::ran, ['a 0'], 'executed as "a 0" (the Poring\'s index in the monster list)');

	for (1 .. 9) {
		$world->advance;
		$world->tick;
	}
	is(scalar(grep { $_ eq 'a 0' } @Commands::ran), 1, 'attacked once, not every tick while the attack runs');
	ok(!@{$monstersList->getItems}, 'the Poring is dead');
	is($plugin->{stats}{ticks}, 10, '10 ticks');
	my $state = api(GET => "/api/v1/state/$sid");
	is($state->{data}{version}, 10, 'the engine holds version 10: every tick one update');
	is($state->{data}{state}{character}{name}, $char->{name}, 'of this character');
	is($plugin->{version}, 10, 'the plugin knows it');
	cmp_ok($plugin->{stats}{feedback_sent}, '>=', 1, 'feedback sent for the executed actions, and taken by the engine');
	is(scalar @{$plugin->{feedback}}, 0, 'none left to send');
	is($plugin->{stats}{conflicts} + $plugin->{stats}{errors} + $plugin->{stats}{rejected} + $plugin->{stats}{server_errors}, 0, 'no conflict, no error');

	Log::clear();
	$world->console('oai');
	my ($status) = Log::matching(qr/plugin \d/);
	like($status->{text}, qr/engine\s+\S+ — up/, 'oai: the engine is up');
	like($status->{text}, qr/session\s+\Q$sid\E \(\Q$char->{name}\E\), state version 10, 10 ticks/, 'oai: session, version, ticks');
	like($status->{text}, qr/control\s+the engine drives \(attackAuto, route_randomWalk held at 0\)/, 'oai: who drives');
	Log::clear();
	$world->console('oai session');
	like((Log::matching(qr/session:/))[0]{text}, qr/\Q$sid\E/, 'oai session');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'a dying character with a potion heals, then fights back' => sub {
	my ($world, $plugin) = bot(hp => 30, hp_max => 400,
		monsters  => [{ id => 50002, name => 'Savage', x => 101, y => 100, attacking => 1 }],
		inventory => [{ id => 909, name => 'Jellopy', amount => 3 }, { id => 501, name => 'Red Potion', amount => 2 }]);
	$world->tick;
	is($plugin->{last}{tier}, 'reflex', 'a reflex');
	is($plugin->{last}{type}, 'USE_ITEM', 'use an item');
	is_deeply(\@Commands::ran, ['is 1'], 'the potion (inventory index 1) is used');
	cmp_ok($char->{hp}, '>', 120, 'healed');
	$world->tick;
	is($plugin->{last}{type}, 'ATTACK', 'healed, it fights back');
	is($Commands::ran[-1], 'a 0', 'at the attacker');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'without a potion it escapes with a Fly Wing' => sub {
	my ($world, $plugin) = bot(hp => 30, hp_max => 400,
		monsters  => [{ id => 50003, name => 'Savage', x => 101, y => 100, attacking => 1 }],
		inventory => [{ id => 601, name => 'Fly Wing', amount => 1 }]);
	$world->tick;
	is($plugin->{last}{type}, 'TELEPORT', 'teleport');
	is_deeply(\@Commands::ran, ['is 0'], 'with the wing');
	$world->unload_plugin;
};

subtest 'with nothing at all it flees, away from the attacker' => sub {
	my ($world, $plugin) = bot(hp => 30, hp_max => 400, x => 100, y => 100,
		monsters => [{ id => 50004, name => 'Savage', x => 106, y => 100, attacking => 1 }]);
	$world->tick;
	is($plugin->{last}{type}, 'MOVE_TO', 'a move');
	ok($plugin->{last}{params}{flee}, 'a flight');
	my ($x, $y) = ($Commands::ran[0] // '') =~ /^move (\d+) (\d+)$/;
	ok(defined $x, "a move command ($Commands::ran[0])");
	cmp_ok($x, '<', 100, 'west, away from the monster standing east');
	$world->advance;
	$world->tick;
	is($plugin->{last}{type}, 'MOVE_TO', 'still fleeing, from one step further');
	is(scalar(grep { /^move / } @Commands::ran), 1, 'the route already running is not restarted for a destination next to its own');
	ok(!grep({ /^a / } @Commands::ran), 'never sent to attack while dying');
	$world->unload_plugin;
};

subtest 'with nothing to do: 202 and its fallback, the task followed, the plan arriving with a later decision' => sub {
	my ($world, $plugin) = bot();
	$config{openkoreAI_tick} = 60_000;
	$config{openkoreAI_poll} = 20;
	Plugins::callHook('AI_pre', {});
	is($plugin->{last}{tier}, 'fallback', 'the engine answered 202: its fallback action ran');
	is($plugin->{last}{type}, 'NO_ACTION', '(nothing)');
	my $task = $plugin->{task} && $plugin->{task}{id};
	ok($task, 'the task is followed');
	OAITest::Engine::wait_until(sub { Plugins::callHook('mainLoop_post'); !$plugin->{task} || $plugin->{task}{status} ne 'pending' }, 10, 0.01);
	is($plugin->{task} && $plugin->{task}{status}, 'completed', 'polled: the plan is ready');
	cmp_ok($plugin->{stats}{polls}, '>=', 1, 'GET /api/v1/action/:taskId');
	is_deeply(\@Commands::ran, [], 'nothing run from the poll');
	delete $plugin->{last_tick};
	Plugins::callHook('AI_pre', {});
	is($plugin->{last}{tier}, 'llm', 'the next decision is the plan');
	is($plugin->{last}{type}, 'MOVE_TO', 'a move (exploring)');
	like($Commands::ran[0] // '', qr/^move \d+ \d+$/, 'run once');
	ok(!$plugin->{task}, 'the task is settled');
	$world->unload_plugin;
};

subtest 'whatever OpenKore holds, the engine takes the state the plugin builds' => sub {
	my ($world, $plugin) = bot(name => "\x{30ed}\x{30fc}$$" . ('x' x 80), lv => 0, hp => -5, hp_max => 0, x => 500_000, y => 3,
		skills => { map { ("SK_$_" => { ID => $_, lv => 200, sp => 1e9 }) } 1 .. 300 });
	$char->{statuses} = { map { ("S$_" x 40 => {}) } 1 .. 100 };
	$char->{zeny} = 1e20;
	$char->{party} = { users => { pack('V', 1) => { name => 'Pal', online => 1, hp => 'full' }, pack('V', 2) => { name => '' } } };
	$world->add_monster(id => $_, name => 'M' x 70, x => 100 + $_ % 50, y => 100, attacking => $_ % 2) for 1 .. 300;
	$world->add_player(id => 3_000_000 + $_, name => "P$_", x => 90, y => 90) for 1 .. 300;
	$world->add_item(id => $_, name => 'I' x 90, amount => -3, type => 'weird type name that is long') for 1 .. 600;
	$world->tick;
	is($plugin->{stats}{rejected}, 0, 'not refused') or diag explain [grep { $_->{type} ne 'debug' } @Log::lines];
	is($plugin->{stats}{ticks}, 1, 'applied');
	my $stored = api(GET => "/api/v1/state/$plugin->{session_id}")->{data}{state};
	is($stored->{character}{name}, substr($char->{name}, 0, 64), 'the name as OpenKore has it (cut to 64), UTF-8 intact');
	$world->unload_plugin;
};

subtest 'a dead character respawns' => sub {
	my ($world, $plugin) = bot(hp => 0);
	$char->{dead} = 1;
	$world->tick;
	is($plugin->{last}{type}, 'CHANGE_STATE', 'a change of state');
	is_deeply(\@Commands::ran, ['respawn'], 'respawn');
	ok(!$char->{dead}, 'alive again');
	$world->unload_plugin;
};

done_testing;

use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib", "$Bin/../openkoreAI";
use Test::More;
use JSON::PP;
use OAITest::World;
use Globals;
use OpenkoreAI::GameState;
use OpenkoreAI::JSON;

# The game state built from OpenKore's globals: the engine's field names, game ids, JSON
# numbers and booleans, and the engine's bounds whatever OpenKore holds.

my $decoder = JSON::PP->new->utf8;

sub built { $decoder->decode(OpenkoreAI::JSON::encode(OpenkoreAI::GameState::build())) }

subtest 'fields, ids and types' => sub {
	my $world = OAITest::World->new(name => 'Hero', lv => 42, lv_job => 30, hp => 350, hp_max => 400, sp => 20, sp_max => 80, x => 100, y => 100, jobID => 4,
		skills    => { AL_HEAL => { ID => 28, lv => 10, sp => 40 }, AL_TELEPORT => { ID => 26, lv => 0, sp => 10 } },
		monsters  => [{ id => 110_001, name => 'Poring', x => 103, y => 104, attacking => 1 }, { id => 110_002, name => 'Drops', x => 100, y => 101 }],
		players   => [{ id => 2_000_123, name => 'Alice', lv => 77, x => 106, y => 108 }],
		inventory => [{ id => 501, name => 'Red Potion', amount => 7, type => 0 }, { id => 1201, name => 'Knife', amount => 1, type => 5 }]);
	$char->{statuses} = { EFST_BLESSING => {}, EFST_INC_AGI => {} };
	$char->{sitting} = 1;
	$char->{party} = { users => { pack('V', 2_000_123) => { name => 'Alice', online => 1, hp => 10, hp_max => 20 } } };
	my $s = built();
	my $c = $s->{character};
	is_deeply([@$c{qw(name level job_level hp max_hp sp max_sp job_class)}], ['Hero', 42, 30, 350, 400, 20, 80, 'Acolyte'], 'character');
	is_deeply($c->{position}, { map => 'prt_fild08', x => 100, y => 100 }, 'position from pos_to and the field');
	ok($c->{is_sitting} && JSON::PP::is_bool($c->{is_sitting}), 'is_sitting a JSON true');
	ok(!$c->{is_dead} && JSON::PP::is_bool($c->{is_dead}), 'is_dead a JSON false');
	is_deeply($c->{status_effects}, ['EFST_BLESSING', 'EFST_INC_AGI'], 'status effects by handle');
	is_deeply($s->{skills}, [{ id => 28, name => 'AL_HEAL', level => 10, sp_cost => 40 }], 'learned skills with their ids (level 0 left out)');
	is_deeply([map { $_->{id} } @{$s->{monsters}}], [110_002, 110_001], 'monsters by server id, nearest first');
	is_deeply($s->{monsters}[1], { id => 110_001, name => 'Poring', distance => 5, position => { map => 'prt_fild08', x => 103, y => 104 }, is_attacking_me => JSON::PP::true, is_aggressive => JSON::PP::true }, 'a monster attacking');
	is_deeply($s->{nearby_players}, [{ id => 2_000_123, name => 'Alice', level => 77, distance => 10 }], 'players by account id');
	is_deeply($s->{inventory}, [{ id => 501, name => 'Red Potion', amount => 7, type => '0' }, { id => 1201, name => 'Knife', amount => 1, type => '5' }], 'items by item id');
	is_deeply($s->{party_members}, [{ id => 2_000_123, name => 'Alice', online => JSON::PP::true, hp => 10, max_hp => 20 }], 'party');
	like(OpenkoreAI::JSON::encode(OpenkoreAI::GameState::build()), qr/"hp":350\b/, 'numbers are JSON numbers');
};

subtest 'numbers OpenKore holds as text are still JSON numbers' => sub {
	my $world = OAITest::World->new;
	$char->{$_} = "$char->{$_}" for qw(hp hp_max lv);
	my $text = "$char->{hp}";    # used as a string
	my $json = OpenkoreAI::JSON::encode(OpenkoreAI::GameState::build());
	like($json, qr/"hp":400[,}]/, 'hp');
	like($json, qr/"level":20[,}]/, 'level');
};

subtest 'the engine\'s bounds, whatever OpenKore holds' => sub {
	my $world = OAITest::World->new(name => 'N' x 80, lv => 0, hp => -5, hp_max => 0, x => 500_000, y => -3);
	$char->{sp_max} = undef;
	$char->{statuses} = { map { ("S$_" => {}) } 1 .. 100 };
	$world->add_monster(id => $_, name => 'M' x 70, x => 100 + $_ % 50, y => 100) for 1 .. 300;
	$world->add_item(id => $_, name => "Item $_", amount => 2_000_000) for 1 .. 600;
	$field = undef;
	my $s = built();
	my $c = $s->{character};
	is(length $c->{name}, 64, 'name cut to 64');
	is($c->{level}, 1, 'level at least 1');
	is($c->{hp}, 0, 'hp not negative');
	is($c->{max_hp}, 1, 'max_hp at least 1');
	is($c->{max_sp}, 0, 'missing max_sp is 0');
	is_deeply($c->{position}, { map => 'unknown', x => 100_000, y => 0 }, 'coordinates clamped, map unknown without a field');
	is(scalar @{$c->{status_effects}}, 64, 'at most 64 status effects');
	is(scalar @{$s->{monsters}}, 64, 'the 64 nearest monsters');
	is(length $s->{monsters}[0]{name}, 64, 'monster names cut to 64');
	is(scalar @{$s->{inventory}}, 200, 'at most 200 items');
	is($s->{inventory}[0]{amount}, 1_000_000, 'amounts clamped');
	$char = undef;
	is(OpenkoreAI::GameState::build(), undef, 'no character, no state');
};

done_testing;

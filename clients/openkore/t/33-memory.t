use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib";
use Test::More;
use OAITest::World;
use OAITest::Engine qw();
use Globals;

# Notable events become memories of the session (POST /api/v1/memory/store[/batch]): a death,
# a level-up, a rare drop, a whisper from someone new. The hooks only note them; they are sent
# between ticks.

OAITest::Engine::require_engine();
*api = \&OAITest::Engine::api;

subtest 'death, level-up, rare drops and first whispers are remembered by the engine' => sub {
	my $world = OAITest::World->new(name => "Memo$$", lv => 20, lv_job => 10,
		monsters => [{ id => 60001, name => 'Orc Warrior', x => 101, y => 100, attacking => 1 }]);
	my $plugin = $world->load_plugin(
		openkoreAI_url       => OAITest::Engine::url(),
		openkoreAI_token     => OAITest::Engine::token(),
		openkoreAI_tick      => 0,
		openkoreAI_rareItems => 'Jellopy, Old Blue Box',
	);
	$world->tick;
	my $sid = $plugin->{session_id};
	ok($sid, 'session');
	my $calls = $plugin->{stats}{posts} + $plugin->{stats}{feedback_sent};

	# The level stat as it arrives at login (same level) is no level-up.
	$world->hook('base_level_changed', { level => 20 });
	$char->{lv} = 21;
	$world->hook('base_level_changed', { level => 21 });
	$char->{lv_job} = 11;
	$world->hook('job_level_changed', { level => 11 });
	$world->hook('item_gathered', { item => 'Poring Card', amount => 1 });
	$world->hook('item_gathered', { item => 'Jellopy', amount => 3 });
	$world->hook('item_gathered', { item => 'Apple', amount => 1 });
	$world->hook('packet_privMsg', { privMsgUser => 'Stranger', privMsg => 'hi there' });
	$world->hook('packet_privMsg', { privMsgUser => 'Stranger', privMsg => 'hello?' });
	$char->{dead} = 1;
	$world->hook('self_died');

	is(scalar @{$plugin->{memories}}, 6, 'six events noted: level, job level, card, Jellopy (listed rare), first whisper, death');
	is($plugin->{stats}{memories_sent} + $plugin->{stats}{posts} + $plugin->{stats}{feedback_sent}, $calls, 'no call made from the event hooks');

	OAITest::Engine::wait_until(sub { $world->tick; !@{$plugin->{memories}} }, 10, 0.01);
	is($plugin->{stats}{memories_sent}, 6, 'all six stored');
	is($plugin->{stats}{memories_dropped}, 0, 'none dropped');

	my $found = api(POST => '/api/v1/memory/retrieve', { session_id => $sid, current_state => { type => 'death', location => { map => 'prt_fild08' } }, top_k => 20 });
	is($found->{status}, 200, 'retrieved') or diag explain $found->{body};
	is($found->{data}{total_memories}, 6, 'the session holds six memories');
	my %types;
	$types{$_->{event}{type}}++ for @{$found->{data}{memories}};
	is_deeply(\%types, { death => 1, level_up => 1, job_level_up => 1, rare_drop => 2, whisper_from_new_player => 1 }, 'of these kinds');
	is($found->{data}{memories}[0]{event}{type}, 'death', 'the death is the closest to a death');
	my ($death) = grep { $_->{event}{type} eq 'death' } @{$found->{data}{memories}};
	is_deeply($death->{event}{actors}, ['Orc Warrior'], 'with who did it');
	is($death->{event}{location}{map}, 'prt_fild08', 'and where');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'openkoreAI_memories 0: no memories' => sub {
	my $world = OAITest::World->new(name => "NoMemo$$");
	my $plugin = $world->load_plugin(openkoreAI_url => OAITest::Engine::url(), openkoreAI_token => OAITest::Engine::token(), openkoreAI_tick => 0, openkoreAI_memories => 0);
	$world->tick;
	$world->hook('self_died');
	is(scalar @{$plugin->{memories}}, 0, 'nothing noted');
	$world->unload_plugin;
};

done_testing;

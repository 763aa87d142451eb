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
use Misc ();

# The real engine with a token: a wrong one (or none) is one clear error line, no crash, and
# OpenKore's own AI; the right one, set while running, is taken at the next tick.

OAITest::Engine::require_engine();
plan skip_all => 'the engine runs without a token (OKAI_ENGINE_TOKEN)' unless length OAITest::Engine::token();

for my $case (['a wrong token', 'not-the-engine-token'], ['no token', '']) {
	my ($label, $token) = @$case;
	subtest "$label: one clear line, no crash, then the right token works" => sub {
		my $world = OAITest::World->new(name => "Token$$" . length $token, monsters => [{ id => 70001, name => 'Poring', x => 102, y => 100 }]);
		$config{attackAuto} = 2;
		my $plugin = $world->load_plugin(openkoreAI_url => OAITest::Engine::url(), openkoreAI_token => $token,
			openkoreAI_tick => 0, openkoreAI_retry => 10, openkoreAI_retryMax => 20);
		OAITest::Engine::wait_until(sub { $world->tick; $plugin->{stats}{calls} >= 3 }, 20, 0.005);
		cmp_ok($plugin->{stats}{calls}, '>=', 3, 'tried again and again');
		is($plugin->{link}, 'token_refused', 'the engine refused it');
		cmp_ok($plugin->{stats}{handshakes} + $plugin->{stats}{ticks}, '==', 0, 'no session, no update');
		my @lines = Log::matching(qr/refused the token/, 'error');
		is(scalar @lines, 1, 'said once, however many retries');
		like($lines[0]{text}, length $token ? qr/openkoreAI_token is not the engine's token/ : qr/the engine needs a token: set openkoreAI_token/, 'saying what to do');
		is($config{attackAuto}, 2, 'OpenKore\'s own AI drives');
		is_deeply(\@Commands::ran, [], 'the plugin issued no command');

		Misc::configModify('openkoreAI_token', OAITest::Engine::token());
		$world->tick;
		is($plugin->{link}, 'up', 'the right token is taken at the next tick');
		is($plugin->{stats}{ticks}, 1, 'the update went through');
		is_deeply(\@Commands::ran, ['a 0'], 'and the engine\'s decision was executed');
		is($config{attackAuto}, 0, 'the engine drives');
		is_deeply(\@OAITest::World::died, [], 'no hook died');
		$world->unload_plugin;
	};
}

done_testing;

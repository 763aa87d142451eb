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

# The real engine stopped in the middle of a run, then started again: OpenKore keeps running
# on its own AI, the plugin says so once, waits, and resumes once the engine is back. Started
# on a new database, the engine has forgotten the session: the plugin opens a new one.

OAITest::Engine::require_control();
*api = \&OAITest::Engine::api;

my $world = OAITest::World->new(name => "Outage$$", monsters => [{ id => 80001, name => 'Poring', x => 102, y => 100 }]);
$config{attackAuto} = 2;
my $plugin = $world->load_plugin(openkoreAI_url => OAITest::Engine::url(), openkoreAI_token => OAITest::Engine::token(),
	openkoreAI_tick => 0, openkoreAI_retry => 50, openkoreAI_retryMax => 200);

# Makes sure a failing test leaves the engine running for the next ones.
END { eval { OAITest::Engine::control('start') } }

sub tick_until {
	my ($probe, $limit) = @_;
	return OAITest::Engine::wait_until(sub { $world->tick; $world->advance; $probe->() }, $limit || 30, 0.01);
}

subtest 'stopped mid-run: OpenKore runs on its own AI, one line, and the plugin resumes when the engine is back' => sub {
	tick_until(sub { $plugin->{stats}{ticks} >= 3 });
	my $sid = $plugin->{session_id};
	is($config{attackAuto}, 0, 'the engine drives');
	my $ticks = $plugin->{stats}{ticks};

	OAITest::Engine::control('stop');
	Log::clear();
	@Commands::ran = ();
	my $posts = $plugin->{stats}{posts};
	tick_until(sub { $plugin->{link} eq 'down' && $plugin->{stats}{posts} >= $posts + 4 });
	is($plugin->{link}, 'down', 'the plugin knows the engine is down');
	cmp_ok($plugin->{stats}{posts}, '>=', $posts + 4, 'and keeps trying, spaced out');
	is(scalar Log::matching(qr/engine down at .*OpenKore's own AI drives the bot until it is back/, 'warning'), 1, 'one "engine down" line');
	is($config{attackAuto}, 2, 'OpenKore\'s own AI drives (attackAuto given back)');
	is_deeply(\@Commands::ran, [], 'the plugin issued no command meanwhile');
	is_deeply(\@OAITest::World::died, [], 'no hook died: OpenKore kept running');

	OAITest::Engine::control('start');
	tick_until(sub { $plugin->{link} eq 'up' && $plugin->{stats}{ticks} > $ticks + 2 });
	is($plugin->{link}, 'up', 'back');
	is(scalar Log::matching(qr/engine back at .* after [\d.]+ s: it drives the bot again/), 1, 'one "engine back" line');
	is(scalar Log::matching(qr/engine down/), 1, 'and still the one "engine down" line');
	is($plugin->{session_id}, $sid, 'the same session: the engine kept it');
	is($config{attackAuto}, 0, 'the engine drives again');
	my $state = api(GET => "/api/v1/state/$sid")->{data};
	is($state->{version}, $plugin->{version}, 'the plugin and the engine agree on the state version');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
};

subtest 'started again on a new database: the session is gone, a new one is opened' => sub {
	my $old = $plugin->{session_id};
	Log::clear();
	OAITest::Engine::control('restart', { fresh => JSON::PP::true() });
	my $ticks = $plugin->{stats}{ticks};
	tick_until(sub { defined $plugin->{session_id} && $plugin->{session_id} ne $old && $plugin->{stats}{ticks} >= $ticks + 3 });
	isnt($plugin->{session_id}, $old, 'a new session');
	is(scalar Log::matching(qr/no longer knows session \Q$old\E/), 1, 'said once');
	my $state = api(GET => "/api/v1/state/$plugin->{session_id}")->{data};
	is($state->{version}, $plugin->{version}, 'versions counted again from the new session\'s first update');
	is(api(GET => "/api/v1/sessions/$old")->{status}, 404, 'the old session is unknown to this engine');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
};

$world->unload_plugin;
done_testing;

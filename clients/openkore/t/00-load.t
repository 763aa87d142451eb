use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib";
use Test::More;
use OAITest::World;
use Globals;
use Plugins;
use Commands;
use Log ();

# A port nothing listens on: no test here may reach an engine.
my $closed = do {
	require IO::Socket::INET;
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die $!;
	my $port = $s->sockport;
	close $s;
	"http://127.0.0.1:$port";
};

subtest 'loads like an OpenKore plugin: registers itself, its hooks, its command and a log hook' => sub {
	my $world = OAITest::World->new;
	my $hooks_before = Plugins::hookCount();
	my $logs_before = Log::hookCount();
	my $plugin = $world->load_plugin(openkoreAI_url => $closed);
	isa_ok($plugin, 'OpenkoreAI::Plugin');
	ok(Plugins::registered('openkoreAI'), 'registered as openkoreAI');
	ok(Plugins::hasHook($_), "hooks $_") for qw(AI_pre mainLoop_post in_game self_died base_level_changed item_gathered packet_privMsg);
	ok($Commands::commands{oai}, 'the oai command exists');
	is(Log::hookCount(), $logs_before + 1, 'one log hook');

	$world->unload_plugin;
	is(Plugins::hookCount(), $hooks_before, 'unloading removes every hook');
	ok(!$Commands::commands{oai}, 'and the command');
	is(Log::hookCount(), $logs_before, 'and the log hook');
	ok(!Plugins::registered('openkoreAI'), 'and the registration');
};

subtest 'a reload replaces the hooks instead of adding a second set' => sub {
	my $world = OAITest::World->new;
	my $before = Plugins::hookCount();
	$world->load_plugin(openkoreAI_url => $closed);
	my $with = Plugins::hookCount();
	my $first = $world->plugin;
	# `plugin reload`: the unload callback, then the file again.
	Plugins::unload('openkoreAI');
	$world->load_plugin;
	is(Plugins::hookCount(), $with, 'as many hooks as after the first load');
	isnt($world->plugin, $first, 'a new plugin object');
	ok($first->{uninstalled}, 'the old one was uninstalled');
	$world->unload_plugin;
	is(Plugins::hookCount(), $before, 'none left after unloading');
};

subtest 'defaults without any config key; read lazily' => sub {
	my $world = OAITest::World->new;
	my $plugin = $world->load_plugin;
	is($plugin->url, 'http://127.0.0.1:9901', 'engine URL');
	is($plugin->seconds('tick', 0, 60_000), 0.1, 'tick 100 ms');
	is($plugin->seconds('timeout', 50, 60_000), 0.5, 'timeout 500 ms');
	is_deeply([$plugin->takeover_keys], ['attackAuto', 'route_randomWalk'], 'keys held while the engine drives');
	ok($plugin->enabled, 'on');
	$config{openkoreAI_url} = 'http://10.0.0.5:9911/';
	$config{openkoreAI_timeout} = 'soon';
	$config{openkoreAI} = 'off';
	is($plugin->url, 'http://10.0.0.5:9911', 'a config change is seen without a reload');
	is($plugin->seconds('timeout', 50, 60_000), 0.5, 'a value that is not a number falls back to the default');
	is(scalar Log::matching(qr/openkoreAI_timeout 'soon' is not a number/, 'warning'), 1, 'and says so');
	ok(!$plugin->enabled, 'openkoreAI off');
	$world->unload_plugin;
};

subtest 'nothing is sent before the character is in game' => sub {
	my $world = OAITest::World->new;
	my $plugin = $world->load_plugin(openkoreAI_url => $closed, openkoreAI_tick => 0);
	$net->setState(Network::CONNECTED_TO_CHAR_SERVER());
	$world->tick for 1 .. 5;
	is($plugin->{stats}{posts} + $plugin->{stats}{handshakes}, 0, 'no call');
	is($plugin->{link}, 'unknown', 'the engine was not contacted');
	$char = undef;
	$net->setState(Network::IN_GAME());
	$world->tick for 1 .. 3;
	is($plugin->{link}, 'unknown', 'nor without a character');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'the oai console command' => sub {
	my $world = OAITest::World->new;
	my $plugin = $world->load_plugin(openkoreAI_url => $closed);
	for my $line ('oai', 'oai status', 'oai last', 'oai session', 'oai help', 'oai bogus') {
		Log::clear();
		ok($world->console($line), "'$line' returns");
		ok(scalar(grep { $_->{text} =~ /openkoreAI/ } @Log::lines), "'$line' prints");
	}
	Log::clear();
	$world->console('oai');
	my ($status) = Log::matching(qr/plugin \d/);
	like($status->{text}, qr/engine\s+\Q$closed\E — not contacted yet/, 'status names the engine and its state');
	like($status->{text}, qr/session\s+none yet/, 'and the session');
	like($status->{text}, qr/last\s+none yet/, 'and the last decision');
	is(scalar Log::matching(qr/unknown oai command 'bogus'/, 'error'), 0, 'cleared') ;
	$world->console('oai bogus');
	is(scalar Log::matching(qr/unknown oai command 'bogus'/, 'error'), 1, 'an unknown subcommand is an error line');

	$world->console('oai off');
	is($config{openkoreAI}, 0, 'oai off sets openkoreAI 0 through configModify');
	is_deeply($Misc::modified[-1], ['openkoreAI', 0], 'recorded as a config change');
	ok(!$plugin->enabled, 'off');
	$world->console('oai on');
	is($config{openkoreAI}, 1, 'oai on');
	ok($plugin->enabled, 'on');
	is_deeply(\@OAITest::World::died, [], 'no command died');
	$world->unload_plugin;
};

done_testing;

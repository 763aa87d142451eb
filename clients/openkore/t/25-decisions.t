use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib";
use Test::More;
use Time::HiRes ();
use OAITest::World;
use OAITest::FakeEngine;
use OAITest::Engine ();
use Globals;
use Commands;
use Log ();
use Misc ();

# How the plugin acts on decisions, against a scripted engine: its own tick rate, no command
# repeated while it is still in effect, the slow tier's 202 and its task, sessions per
# character, `oai off`.

sub world_with {
	my ($server, %settings) = @_;
	my $world = OAITest::World->new(%{delete $settings{world} || {}});
	$config{attackAuto} = 2;
	my $plugin = $world->load_plugin(openkoreAI_url => $server->url, openkoreAI_tick => 0, %settings);
	return ($world, $plugin);
}

sub paths { map { $_->{path} } $_[0]->requests }

subtest 'AI_pre fires every loop iteration; the plugin ticks at most every openkoreAI_tick' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server, openkoreAI_tick => 100);
	my $t0 = Time::HiRes::time();
	$world->tick for 1 .. 50;
	my $elapsed = Time::HiRes::time() - $t0;
	my $posts = $plugin->{stats}{posts};
	cmp_ok($posts, '>=', 1, 'it ticked');
	# However slow this machine, never more than one tick per 100 ms.
	cmp_ok($posts, '<=', 1 + int($elapsed / 0.1), "$posts updates for 50 AI_pre calls over " . sprintf('%.2f', $elapsed) . ' s');
	$world->unload_plugin;
};

subtest 'a decision repeated while it is in effect is not executed again' => sub {
	my %script = (
		1 => { type => 'ATTACK', params => { target_id => 120_001 } },
		2 => { type => 'ATTACK', params => { target_id => 120_001 } },
		3 => { type => 'ATTACK', params => { target_id => 120_002 } },
		4 => { type => 'SIT', params => {} },
		5 => { type => 'SIT', params => {} },
		6 => { type => 'USE_ITEM', params => { item_id => 501 } },
		7 => { type => 'USE_ITEM', params => { item_id => 501 } },
		8 => { type => 'MOVE_TO', params => { x => 140, y => 150 } },
		9 => { type => 'MOVE_TO', params => { x => 141, y => 149 } },
		10 => { type => 'MOVE_TO', params => { x => 170, y => 150 } },
		11 => { type => 'ATTACK', params => { target_id => 999 } },
		12 => { type => 'ATTACK', params => { target_id => 999 } },
	);
	my $server = OAITest::FakeEngine->start(decide => sub { +{ %{$script{$_[1]} || { type => 'NO_ACTION', params => {} }}, reason => "step $_[1]" } });
	my ($world, $plugin) = world_with($server, openkoreAI_repeat => 60_000, world => {
		monsters  => [{ id => 120_001, name => 'Poring', x => 101, y => 100 }, { id => 120_002, name => 'Lunatic', x => 102, y => 100 }],
		inventory => [{ id => 501, name => 'Red Potion', amount => 5 }],
	});
	$world->tick for 1 .. 12;
	is_deeply(\@Commands::ran, ['a 0', 'a 1', 'sit', 'is 0', 'move 140 150', 'move 170 150'], 'only what changes anything runs');
	is($plugin->{stats}{skipped}, 5, 'five repeats skipped: the attack under way, sitting already, the potion just used, the route under way, the target still missing');
	is($plugin->{stats}{failed}, 1, 'the missing target failed once');
	my @feedback = map { $_->{json} } grep { $_->{path} eq '/api/v1/action_feedback' } $server->requests;
	is_deeply([map { "$_->{action}:$_->{status}" } @feedback],
		['ATTACK:success', 'ATTACK:success', 'SIT:success', 'USE_ITEM:success', 'MOVE_TO:success', 'MOVE_TO:success', 'ATTACK:failure'], 'feedback for every executed or failed action');
	like($feedback[-1]{reason}, qr/^target_not_found: monster id 999 is not in sight/, 'the failure says why');
	is($feedback[0]{session_id}, $plugin->{session_id}, 'with the session id');
	$world->unload_plugin;
};

subtest 'a macro\'s commands run each time they come, and are acknowledged by their type' => sub {
	my $server = OAITest::FakeEngine->start(decide => sub {
		+{ type => 'SIT', params => { command => 'sit' }, reason => 'macro m v1 line 2', source => 'macro:00000000-0000-4000-8000-00000000000a' };
	});
	my ($world, $plugin) = world_with($server);
	$world->tick for 1 .. 3;
	is_deeply(\@Commands::ran, ['sit', 'sit', 'sit'], 'three deliveries, three runs');
	is(scalar(grep { $_->{path} eq '/api/v1/action_feedback' && $_->{json}{action} eq 'SIT' } $server->requests), 3, 'three acknowledgements');
	$world->unload_plugin;
};

subtest 'the slow tier: 202 runs the fallback, the task is polled between ticks, the plan comes with a later decision' => sub {
	my $task = '00000000-0000-4000-8000-0000000000aa';
	my $polls = 0;
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req, $version) = @_;
		if ($req->{path} eq "/api/v1/action/$task") {
			$polls++;
			return OAITest::FakeEngine::envelope({ task_id => $task, status => $polls < 2 ? 'pending' : 'completed', action => { type => 'MOVE_TO', params => { x => 1, y => 1 } } });
		}
		return unless $req->{path} eq '/api/v1/state';
		my $v = ++$version->{$req->{json}{session_id}};
		return OAITest::FakeEngine::envelope({ version => $v, task_id => $task, fallback_action => { type => 'NO_ACTION', params => {}, reason => 'waiting' } }, 202) if $v <= 2;
		return OAITest::FakeEngine::envelope({ version => $v, decision_tier => 'llm', action => { type => 'MOVE_TO', params => { x => 130, y => 120 }, reason => 'plan' } });
	});
	my ($world, $plugin) = world_with($server, openkoreAI_tick => 60_000, openkoreAI_poll => 50);
	Plugins::callHook('AI_pre', {});
	is($plugin->{stats}{ticks}, 1, 'the update was applied');
	is($plugin->{last}{tier}, 'fallback', 'the fallback action ran');
	is_deeply(\@Commands::ran, [], '(NO_ACTION: nothing to do)');
	is($plugin->{task}{id}, $task, 'the task is followed');
	OAITest::Engine::wait_until(sub { Plugins::callHook('mainLoop_post'); $plugin->{task}{status} eq 'completed' }, 10, 0.01);
	is($plugin->{task}{status}, 'completed', 'polled until completed');
	is(scalar(grep { $_ eq "/api/v1/action/$task" } paths($server)), 2, 'two polls');
	Plugins::callHook('mainLoop_post') for 1 .. 5;
	is(scalar(grep { $_ eq "/api/v1/action/$task" } paths($server)), 2, 'no poll once completed');
	is_deeply(\@Commands::ran, [], 'the polled plan is not run from the poll (the engine delivers it)');
	delete $plugin->{last_tick};
	Plugins::callHook('AI_pre', {});
	is($plugin->{last}{tier}, 'fallback', 'another 202 for the same task');
	delete $plugin->{last_tick};
	Plugins::callHook('AI_pre', {});
	is_deeply(\@Commands::ran, ['move 130 120'], 'the plan arrives as a decision and runs once');
	ok(!$plugin->{task}, 'the task is settled');
	$world->unload_plugin;
};

subtest 'a plan that failed is said once and dropped' => sub {
	my $task = '00000000-0000-4000-8000-0000000000bb';
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req, $version) = @_;
		return OAITest::FakeEngine::envelope({ task_id => $task, status => 'failed', error => 'planner timed out' }) if $req->{path} =~ m{^/api/v1/action/};
		return unless $req->{path} eq '/api/v1/state';
		my $v = ++$version->{$req->{json}{session_id}};
		return OAITest::FakeEngine::envelope({ version => $v, task_id => $task, fallback_action => { type => 'NO_ACTION', params => {} } }, 202);
	});
	my ($world, $plugin) = world_with($server, openkoreAI_tick => 60_000, openkoreAI_poll => 50);
	Plugins::callHook('AI_pre', {});
	OAITest::Engine::wait_until(sub { Plugins::callHook('mainLoop_post'); !$plugin->{task} }, 10, 0.01);
	ok(!$plugin->{task}, 'dropped');
	is(scalar Log::matching(qr/strategic plan failed: planner timed out/, 'warning'), 1, 'said once');
	$world->unload_plugin;
};

subtest 'entering the game opens the session; the same character keeps it, another gets its own' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server);
	$world->hook('in_game');
	is_deeply([paths($server)], ['/api/v1/handshake'], 'the handshake on entering the game, before any tick');
	my $first = $plugin->{session_id};
	my ($hello) = map { $_->{json} } $server->requests;
	is($hello->{client_version}, 'OpenKore test; openkoreAI ' . $OpenkoreAI::Plugin::VERSION, 'client version: OpenKore\'s and the plugin\'s');
	is($hello->{pid}, $$, 'the process id');
	ok((grep { $_ eq 'macro_actions' } @{$hello->{capabilities}}), 'capabilities');
	$world->tick;
	$world->hook('in_game');
	is($plugin->{session_id}, $first, 'a reconnect of the same character keeps its session');
	$char->{name} = 'Other';
	$world->hook('in_game');
	isnt($plugin->{session_id}, $first, 'another character, another session');
	is(scalar Log::matching(qr/character changed \(Hero → Other\)/), 1, 'said');
	is($plugin->{stats}{handshakes}, 2, 'two handshakes in all');
	$world->unload_plugin;
};

subtest 'oai off gives the bot back to OpenKore at once; oai on takes it again' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server);
	$world->tick;
	is($config{attackAuto}, 0, 'the engine drives');
	$world->console('oai off');
	is($config{attackAuto}, 2, 'attackAuto given back');
	my $posts = $plugin->{stats}{posts};
	$world->tick for 1 .. 3;
	is($plugin->{stats}{posts}, $posts, 'no update while off');
	$world->console('oai on');
	$world->tick;
	is($plugin->{stats}{posts}, $posts + 1, 'updates again');
	is($config{attackAuto}, 0, 'the engine drives again');
	$config{attackAuto} = 1;
	$world->tick;
	is($config{attackAuto}, 0, 'a value set meanwhile (conf, config reload) is held at 0 too...');
	$world->unload_plugin;
	is($config{attackAuto}, 1, '...and is the one given back');
};

done_testing;

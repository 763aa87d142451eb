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

# What the engine can do wrong, scripted: the plugin never dies in a hook, keeps OpenKore
# running, logs one clear line, and comes back when the engine does.

my %fast = (openkoreAI_tick => 0, openkoreAI_retry => 20, openkoreAI_retryMax => 40, openkoreAI_timeout => 300);

sub world_with {
	my ($server, %settings) = @_;
	my $world = OAITest::World->new(play => 0);
	$config{attackAuto} = 2;
	$config{route_randomWalk} = 1;
	my $plugin = $world->load_plugin(%fast, openkoreAI_url => $server->url, %settings);
	return ($world, $plugin);
}

sub tick_until {
	my ($world, $probe, $limit) = @_;
	return OAITest::Engine::wait_until(sub { $world->tick; $probe->() }, $limit || 10, 0.005);
}

sub state_posts { grep { $_->{path} eq '/api/v1/state' } $_[0]->requests }

subtest 'the happy path against the scripted engine: handshake, versioned state, action, feedback' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server, openkoreAI_token => 'secret-token');
	$world->tick for 1 .. 3;
	my @requests = $server->requests;
	is($requests[0]{path}, '/api/v1/handshake', 'handshake first');
	is($requests[0]{json}{character_name}, 'Hero', 'naming the character');
	is($requests[0]{json}{client}, 'openkore', 'and the client');
	is($requests[0]{headers}{authorization}, 'Bearer secret-token', 'with the token');
	my @states = state_posts($server);
	is(scalar @states, 3, 'one state update per tick');
	is_deeply([map { $_->{json}{expected_version} } @states], [0, 1, 2], 'each expecting the version the last answer gave');
	is($plugin->{version}, 3, 'version 3 after 3 ticks');
	is_deeply(\@Commands::ran, ['sit'], 'SIT executed once (then the character would be sitting; it is not, but the repeat guard holds)');
	my @feedback = grep { $_->{path} eq '/api/v1/action_feedback' } @requests;
	is(scalar @feedback, 1, 'one feedback');
	is_deeply([@{$feedback[0]{json}}{qw(action status session_id)}], ['SIT', 'success', $plugin->{session_id}], 'success of SIT for the session');
	is($config{attackAuto}, 0, 'attackAuto held at 0 while the engine drives');
	is($config{route_randomWalk}, 0, 'route_randomWalk too');
	$world->unload_plugin;
	is($config{attackAuto}, 2, 'given back on unload');
	is($config{route_randomWalk}, 1, 'both');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
};

subtest 'a 500 or a malformed answer: no crash, one line per kind, the tick is skipped' => sub {
	my @faults = (
		{ status => 500, json => { status => 'error', error => { code => 'INTERNAL_ERROR', message => 'boom', details => {} } } },
		{ status => 500, body => '<html>Internal Server Error</html>' },
		{ status => 200, body => 'not json at all' },
		{ status => 200, json => [1, 2, 3] },
		{ status => 200, json => { status => 'success', data => { no_version => 1 } } },
		{ status => 200, json => { status => 'success', data => { version => 1, decision_tier => 'rule' } } },
		{ status => 200, json => { status => 'success', data => { version => 1, action => { type => { deep => 1 } } } } },
		{ status => 202, json => { status => 'success', data => { version => 1, task_id => 'x' } } },
		{ status => 200, json => { status => 'failure', data => {} } },
		{ status => 200, body => '' },
	);
	for my $fault (@faults) {
		my $server = OAITest::FakeEngine->start(fault => sub { $_[0]{path} eq '/api/v1/state' ? $fault : undef });
		my ($world, $plugin) = world_with($server, openkoreAI_retry => 60_000, openkoreAI_retryMax => 60_000);
		$world->tick for 1 .. 6;
		my $what = substr($fault->{body} // $fault->{raw} // JSON::PP->new->canonical->encode($fault->{json}), 0, 40);
		is_deeply(\@OAITest::World::died, [], "no hook died ($what)");
		is_deeply(\@Commands::ran, [], 'nothing executed');
		cmp_ok($plugin->{stats}{server_errors}, '>=', 1, 'counted as engine errors');
		is($plugin->{stats}{errors}, 0, 'not as plugin errors');
		is(scalar Log::matching(qr/\[openkoreAI\] state update: /, 'warning'), 1, 'one warning line');
		is(scalar Log::matching(qr/engine down .*3 failed answers in a row/, 'warning'), 1, 'after three, the plugin waits');
		is(scalar state_posts($server), 3, 'three tries, then no more while waiting');
		$world->unload_plugin;
	}
};

subtest 'the engine goes away and comes back: one line each way; OpenKore\'s own AI meanwhile' => sub {
	my $down = 0;
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req) = @_;
		# Requests 4-9 are dropped: the engine is gone.
		return { close => 1 } if $req->{n} >= 4 && $req->{n} <= 9;
		return;
	});
	my ($world, $plugin) = world_with($server);
	tick_until($world, sub { $plugin->{stats}{ticks} >= 1 });
	is($config{attackAuto}, 0, 'the engine drives');
	tick_until($world, sub { $plugin->{link} eq 'down' });
	is($config{attackAuto}, 2, 'OpenKore\'s own AI again while the engine is away');
	tick_until($world, sub { $plugin->{link} eq 'up' && $plugin->{stats}{ticks} >= 3 });
	is($plugin->{link}, 'up', 'back');
	is(scalar Log::matching(qr/engine down at .*OpenKore's own AI drives the bot until it is back/, 'warning'), 1, 'one "engine down" line');
	is(scalar Log::matching(qr/engine back at .* after [\d.]+ s/), 1, 'one "engine back" line');
	is($config{attackAuto}, 0, 'the engine drives again');
	cmp_ok($plugin->{stats}{outages}, '==', 1, 'one outage');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'an answer cut short or not HTTP at all counts as the engine being down' => sub {
	for my $fault ({ raw => "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"status\":", close_after => 1 }, { raw => "garbage\r\n\r\n" }) {
		my $server = OAITest::FakeEngine->start(fault => sub { $_[0]{path} eq '/api/v1/state' ? $fault : undef });
		my ($world, $plugin) = world_with($server, openkoreAI_retry => 60_000, openkoreAI_retryMax => 60_000);
		$world->tick for 1 .. 3;
		is($plugin->{link}, 'down', 'down');
		like((Log::matching(qr/engine down/, 'warning'))[0]{text}, qr/\((connection closed before the whole answer arrived|not an HTTP answer)\)/, 'saying why');
		is_deeply(\@OAITest::World::died, [], 'no hook died');
		$world->unload_plugin;
	}
};

subtest 'a hanging engine: each tick returns at its timeout; then the plugin waits' => sub {
	my $server = OAITest::FakeEngine->start(fault => sub { $_[0]{path} eq '/api/v1/state' ? { hang => 1 } : undef });
	my ($world, $plugin) = world_with($server, openkoreAI_timeout => 200, openkoreAI_retry => 60_000, openkoreAI_retryMax => 60_000);
	my $t0 = Time::HiRes::time();
	$world->tick;
	my $took = Time::HiRes::time() - $t0;
	is($plugin->{stats}{timeouts}, 1, 'the state update timed out');
	# The server would hold the connection 30 s.
	cmp_ok($took, '<', 10, 'the tick returned on the plugin\'s own timeout');
	is($plugin->{link}, 'down', 'engine down');
	$world->tick for 1 .. 5;
	is(scalar state_posts($server), 1, 'no call while waiting to retry');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'a lost answer: the next update meets 409 VERSION_CONFLICT, takes the engine\'s version and is sent again' => sub {
	my $posts = 0;
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req, $version) = @_;
		return unless $req->{path} eq '/api/v1/state' && ++$posts == 3;
		# Applied, but the answer never arrives.
		$version->{$req->{json}{session_id}}++;
		return { close => 1 };
	});
	my ($world, $plugin) = world_with($server, openkoreAI_retry => 10);
	tick_until($world, sub { $plugin->{stats}{ticks} >= 4 });
	my @expected = map { $_->{json}{expected_version} } state_posts($server);
	is_deeply([@expected[0 .. 4]], [0, 1, 2, 2, 3], 'the update after the lost one expected 2, met 409, was sent again expecting 3');
	is($plugin->{stats}{conflicts}, 1, 'one conflict');
	is($plugin->{version}, 5, 'the plugin is at the engine\'s version');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'the engine forgot the session (404): a new handshake, the update goes to the new session' => sub {
	my $posts = 0;
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req, $version) = @_;
		# The engine restarts on a new database before the fourth update.
		%$version = () if $req->{path} eq '/api/v1/state' && ++$posts == 4;
		return;
	});
	my ($world, $plugin) = world_with($server);
	$world->tick for 1 .. 4;
	my $first = '00000000-0000-4000-8000-000000000001';
	my $second = '00000000-0000-4000-8000-000000000002';
	is($plugin->{session_id}, $second, 'a second session');
	my @posts = state_posts($server);
	is_deeply([map { $_->{json}{session_id} } @posts], [$first, $first, $first, $first, $second], 'the refused update was sent again to the new session');
	is($posts[4]{json}{expected_version}, 0, 'from version 0');
	is($plugin->{version}, 1, 'one update on the new session');
	is(scalar Log::matching(qr/no longer knows session \Q$first\E/), 1, 'said once');
	is($plugin->{stats}{ticks}, 4, 'no tick lost');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'a wrong token: one clear line, no crash, OpenKore\'s own AI; a new token is tried at once' => sub {
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req) = @_;
		my $auth = $req->{headers}{authorization} // '';
		return $auth eq 'Bearer right-token' ? undef : OAITest::FakeEngine::error(401, 'INVALID_TOKEN');
	});
	my ($world, $plugin) = world_with($server, openkoreAI_token => 'wrong-token', openkoreAI_retry => 10, openkoreAI_retryMax => 20);
	tick_until($world, sub { $server->requests >= 3 });
	cmp_ok(scalar $server->requests, '>=', 3, 'retried a few times');
	my @lines = Log::matching(qr/refused the token/, 'error');
	is(scalar @lines, 1, 'one error line');
	like($lines[0]{text}, qr/openkoreAI_token is not the engine's token/, 'saying what to fix');
	unlike(join('', map { $_->{text} } @Log::lines), qr/wrong-token/, 'the token itself is never logged');
	is($config{attackAuto}, 2, 'OpenKore\'s own AI drives');
	is_deeply(\@Commands::ran, [], 'nothing executed');
	$config{openkoreAI_retry} = 60_000;
	$config{openkoreAI_retryMax} = 60_000;
	$world->tick;
	Misc::configModify('openkoreAI_token', 'right-token');
	$world->tick;
	is($plugin->{link}, 'up', 'the new token is tried at the next tick, not after the wait');
	is(scalar Log::matching(qr/accepted the token/), 1, 'and that is said');
	is($config{attackAuto}, 0, 'the engine drives');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'a handshake the engine refuses: one line, and the plugin waits before asking again' => sub {
	my $server = OAITest::FakeEngine->start(fault => sub { $_[0]{path} eq '/api/v1/handshake' ? OAITest::FakeEngine::error(400, 'INVALID_REQUEST') : undef });
	my ($world, $plugin) = world_with($server, openkoreAI_retry => 60_000, openkoreAI_retryMax => 60_000);
	$world->tick for 1 .. 5;
	is(scalar $server->requests, 1, 'asked once');
	is(scalar Log::matching(qr/the engine refused the handshake \(400 INVALID_REQUEST/, 'error'), 1, 'one line');
	is($plugin->{stats}{rejected}, 1, 'counted as refused');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest '429: the plugin pauses for Retry-After and says so once' => sub {
	my $server = OAITest::FakeEngine->start(fault => sub {
		my ($req) = @_;
		return unless $req->{path} eq '/api/v1/state';
		my $e = OAITest::FakeEngine::error(429, 'RATE_LIMIT');
		$e->{headers} = { 'Retry-After' => 60 };
		return $e;
	});
	my ($world, $plugin) = world_with($server);
	$world->tick for 1 .. 5;
	is(scalar state_posts($server), 1, 'one update, then a pause');
	is(scalar Log::matching(qr/limiting this bot \(429 RATE_LIMIT\): pausing 60 s/, 'warning'), 1, 'one line');
	is($plugin->{link}, 'up', 'the engine is not called down for it');
	$world->unload_plugin;
};

subtest 'a command that dies or reports an error is a failure fed back, never a crash' => sub {
	my $n = 0;
	my $server = OAITest::FakeEngine->start(decide => sub {
		my (undef, $v) = @_;
		return { type => 'SEND_COMMAND', params => { command => $v == 1 ? 'explode' : 'complain' }, reason => 'x' };
	});
	my ($world, $plugin) = world_with($server);
	$Commands::world = sub {
		die "handler bug\n" if $_[0] eq 'explode';
		Log::error("Error in function 'complain'\nit went wrong\n") if $_[0] eq 'complain';
	};
	$world->tick for 1 .. 2;
	my @feedback = map { $_->{json} } grep { $_->{path} eq '/api/v1/action_feedback' } $server->requests;
	is(scalar @feedback, 2, 'two feedbacks');
	is($feedback[0]{status}, 'failure', 'the dying command failed');
	like($feedback[0]{message}, qr/explode: the command died: handler bug/, 'with why');
	is($feedback[1]{status}, 'failure', 'the complaining command failed');
	like($feedback[1]{message}, qr/it went wrong/, 'with the error it reported');
	is($plugin->{stats}{errors}, 0, 'the plugin itself did not fail');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'whatever dies inside a hook is caught, counted and logged; OpenKore runs on' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server);
	# Another plugin's log hook that dies on this plugin's lines.
	my $id = Log::addHook(sub { die "log hook exploded\n" if $_[0] eq 'message' && $_[4] =~ /^\[openkoreAI\] session/ });
	$world->tick;
	Log::delHook($id);
	is_deeply(\@OAITest::World::died, [], 'the hook did not die');
	is($plugin->{stats}{errors}, 1, 'counted as a plugin error');
	is(scalar Log::matching(qr/internal error in tick \(OpenKore keeps running\): log hook exploded/, 'error'), 1, 'and logged');
	$world->tick for 1 .. 2;
	cmp_ok($plugin->{stats}{ticks}, '>=', 2, 'the next ticks work');
	$world->unload_plugin;
};

subtest 'hooks given nonsense do not die' => sub {
	my $server = OAITest::FakeEngine->start;
	my ($world, $plugin) = world_with($server);
	$world->tick;
	$world->hook($_, undef) for qw(self_died base_level_changed job_level_changed item_gathered packet_privMsg in_game packet_mapChange post_configModify);
	$world->hook($_, 'text') for qw(base_level_changed item_gathered packet_privMsg);
	$world->hook('item_gathered', { item => undef, amount => 'lots' });
	$world->hook('base_level_changed', { level => 'x' });
	$field = undef;
	$char->{pos_to} = undef;
	$char->{pos} = undef;
	$char->{hp_max} = 0;
	$char->{lv} = 'not a number';
	$monstersList = undef;
	$world->tick;
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	is($plugin->{stats}{errors}, 0, 'no internal error either');
	my $c = (state_posts($server))[-1]{json}{game_state}{character};
	is_deeply([@$c{qw(level max_hp)}, $c->{position}], [1, 1, { map => 'unknown', x => 0, y => 0 }], 'the state sent stays within the engine\'s bounds');
	$world->unload_plugin;
};

done_testing;

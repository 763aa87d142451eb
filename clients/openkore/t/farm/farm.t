use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/../lib";
use File::Temp ();
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes ();
use OAITest::Engine qw();

# A farm: OKAI_FARM_BOTS bots (20), each its own process as each OpenKore is, each loading the
# plugin and running OpenKore's main loop for OKAI_FARM_SECONDS (30) against the engine, with
# a small game reacting to the commands (monsters come and die, routes walk, potions heal).
# Midway, every bot is sent a macro through the engine. Asserted at the end, per bot: no plugin
# error of any kind, the engine's state version equal to the ticks the plugin counted, its
# macro completed and acknowledged, its memory stored. Counts only, never timings.

OAITest::Engine::require_engine();
*api = \&OAITest::Engine::api;

my $BOTS = $ENV{OKAI_FARM_BOTS} || 20;
my $SECONDS = $ENV{OKAI_FARM_SECONDS} || 30;
my $dir = File::Temp::tempdir(CLEANUP => 1);
my $json = JSON::PP->new->utf8->canonical;

sub write_json {
	my ($file, $data) = @_;
	open my $fh, '>', "$file.tmp" or die "$file: $!";
	print $fh $json->encode($data);
	close $fh;
	rename "$file.tmp", $file or die "$file: $!";
}

sub read_json {
	my ($file) = @_;
	open my $fh, '<', $file or return;
	local $/;
	my $data = eval { $json->decode(<$fh>) };
	close $fh;
	return $data;
}

# One bot: OpenKore's main loop (AI_pre and mainLoop_post every 10 ms, the plugin ticking
# every 100 ms) around a small game.
sub run_bot {
	my ($i) = @_;
	require OAITest::World;
	my $world = OAITest::World->new(name => "Farm$$-$i", hp => 500, hp_max => 500, x => 50 + $i * 5, y => 100,
		inventory => [{ id => 501, name => 'Red Potion', amount => 50 }]);
	$Globals::config{attackAuto} = 2;
	my $plugin = $world->load_plugin(
		openkoreAI_url     => OAITest::Engine::url(),
		openkoreAI_token   => OAITest::Engine::token(),
		openkoreAI_tick    => 100,
		# Generous on purpose: a state update that timed out may still have been applied, which
		# would make "version = ticks" depend on the machine's load. Timeouts are counted (and
		# must be 0); the default (500 ms) is what bots use.
		openkoreAI_timeout => 10_000,
	);
	my $next_id = 90_000 + $i * 1000;
	my $until = Time::HiRes::time() + $SECONDS;
	my ($loops, $steps, $leveled) = (0, 0, 0);
	my $last_step = 0;
	while (Time::HiRes::time() < $until) {
		$world->tick;
		$loops++;
		my $now = Time::HiRes::time();
		if ($now - $last_step >= 0.1) {
			$last_step = $now;
			$steps++;
			$world->advance;
			# Keep two or three monsters around; some attack.
			while (@{$Globals::monstersList->getItems} < 2 + $steps % 2) {
				my $id = ++$next_id;
				$world->add_monster(id => $id, name => ('Poring', 'Lunatic', 'Fabre')[$id % 3],
					x => $Globals::char->{pos_to}{x} + 2 + $id % 4, y => $Globals::char->{pos_to}{y} + 1, attacking => $id % 5 == 0);
			}
			$Globals::char->{hp} = 500 if $Globals::char->{hp} < 60;
			if (!$leveled && $steps >= 50) {
				$leveled = 1;
				$Globals::char->{lv}++;
				$world->hook('base_level_changed', { level => $Globals::char->{lv} });
			}
			write_json("$dir/$i.session", { session_id => $plugin->{session_id} }) if $steps == 10;
		}
		Time::HiRes::sleep(0.01);
	}
	# What is still waiting to be sent goes out before the bot stops (as OpenKore keeps looping).
	my $drain = Time::HiRes::time() + 10;
	while ((@{$plugin->{feedback}} || @{$plugin->{memories}}) && Time::HiRes::time() < $drain) {
		Plugins::callHook('mainLoop_post');
		Time::HiRes::sleep(0.01);
	}
	my @complaints = map { $_->{text} } grep { ($_->{type} eq 'error' || $_->{type} eq 'warning') && $_->{text} =~ /openkoreAI/ } @Log::lines;
	my %result = (
		session_id => $plugin->{session_id},
		version    => $plugin->{version},
		stats      => $plugin->{stats},
		loops      => $loops,
		commands   => scalar @Commands::ran,
		died       => scalar @OAITest::World::died,
		complaints => \@complaints,
		pending    => scalar(@{$plugin->{feedback}}) + scalar(@{$plugin->{memories}}),
	);
	$world->unload_plugin;
	write_json("$dir/$i.json", \%result);
	return;
}

my %pid;
for my $i (1 .. $BOTS) {
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if (!$pid) {
		my $ok = eval { run_bot($i); 1 };
		write_json("$dir/$i.json", { crashed => "$@" }) unless $ok;
		POSIX::_exit(0);
	}
	$pid{$pid} = $i;
}

# Midway, a macro for every bot (sessions are known after their 10th step).
my $macro = "farmMacro$$";
my $put = api(PUT => "/api/v1/macro/$macro", { content => "macro $macro {\n    do c farm check\n    do sit\n    do stand\n}\n" });
is($put->{status}, 200, 'the farm macro is deployed') or diag explain $put->{body};
my %execution;
my $sessions_known = OAITest::Engine::wait_until(sub { !grep { !-e "$dir/$_.session" } 1 .. $BOTS }, $SECONDS / 2, 0.1);
ok($sessions_known, 'every bot has a session by mid-run');
for my $i (1 .. $BOTS) {
	my $s = read_json("$dir/$i.session") or next;
	my $res = api(POST => '/api/v1/macro/execute', { session_id => $s->{session_id}, macro_name => $macro });
	$execution{$i} = $res->{data}{execution_id} if $res->{status} == 202;
}
is(scalar keys %execution, $BOTS, 'a macro execution started for every bot');

# The bots run for $SECONDS; each ends by itself. Bounded: a straggler is killed.
my $deadline = Time::HiRes::time() + $SECONDS + 60;
while (%pid && Time::HiRes::time() < $deadline) {
	my $pid = waitpid(-1, POSIX::WNOHANG());
	if ($pid > 0) { delete $pid{$pid}; next }
	Time::HiRes::sleep(0.1);
}
if (%pid) {
	fail('bots still running after the run: ' . join(', ', sort values %pid));
	kill 'KILL', keys %pid;
	waitpid($_, 0) for keys %pid;
}

my %total;
for my $i (1 .. $BOTS) {
	my $r = read_json("$dir/$i.json");
	subtest "bot $i" => sub {
		ok($r, 'finished and reported') or return;
		ok(!$r->{crashed}, 'did not crash') or return diag $r->{crashed};
		my $s = $r->{stats};
		is($r->{died}, 0, 'no hook died');
		is_deeply({ map { $_ => $s->{$_} } qw(errors rejected server_errors timeouts outages conflicts session_losses feedback_dropped memories_dropped) },
			{ map { $_ => 0 } qw(errors rejected server_errors timeouts outages conflicts session_losses feedback_dropped memories_dropped) },
			'no plugin error, refusal, engine error, timeout, outage, conflict or loss') or diag explain $s;
		is_deeply($r->{complaints}, [], 'no warning or error line') ;
		is($s->{handshakes}, 1, 'one session for the whole run');
		cmp_ok($s->{ticks}, '>', 0, 'ticked');
		my $state = api(GET => "/api/v1/state/$r->{session_id}");
		is($state->{data}{version}, $s->{ticks}, "the engine's state version equals the bot's ticks ($s->{ticks})");
		is($r->{version}, $s->{ticks}, 'as the plugin last heard');
		cmp_ok($s->{executed}, '>', 0, 'actions executed');
		is($s->{feedback_sent}, $s->{executed} + $s->{failed}, 'each executed (or failed) action fed back');
		is($r->{pending}, 0, 'nothing left to send');
		is($s->{memories_sent}, 1, 'the level-up remembered');
		my $exec = $execution{$i} ? api(GET => "/api/v1/macro/executions/$execution{$i}")->{data} : undef;
		is($exec && $exec->{status}, 'completed', 'its macro completed');
		is_deeply($exec && $exec->{actions}, { queued => 3, delivered => 3, acknowledged => 3, failed => 0 }, 'every macro command delivered and acknowledged');
		$total{$_} += $s->{$_} for qw(ticks executed skipped feedback_sent);
		$total{loops} += $r->{loops};
	};
}
diag(sprintf('farm: %d bots, %d s: %d main-loop iterations, %d state updates, %d actions executed (%d repeats skipped), %d feedbacks',
	$BOTS, $SECONDS, map { $total{$_} || 0 } qw(loops ticks executed skipped feedback_sent)));

done_testing;

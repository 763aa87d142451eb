use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib";
use Test::More;
use OAITest::World;
use OAITest::Engine qw();
use Globals;
use Commands;

# A macro executed through the engine (POST /api/v1/macro/execute): its `do` commands reach
# the bot one per tick, run as written, in order, each acknowledged by action_feedback.

OAITest::Engine::require_engine();
*api = \&OAITest::Engine::api;

my %settings = (openkoreAI_url => OAITest::Engine::url(), openkoreAI_token => OAITest::Engine::token(), openkoreAI_tick => 0);

sub put_macro {
	my ($name, @lines) = @_;
	my $res = api(PUT => "/api/v1/macro/$name", { content => "macro $name {\n" . join('', map { "    $_\n" } @lines) . "}\n" });
	is($res->{status}, 200, "macro $name deployed") or diag explain $res->{body};
	return $name;
}

sub run_macro {
	my ($world, $plugin, $name) = @_;
	my $start = api(POST => '/api/v1/macro/execute', { session_id => $plugin->{session_id}, macro_name => $name });
	is($start->{status}, 202, 'execution accepted') or diag explain $start->{body};
	my $id = $start->{data}{execution_id};
	my $view = OAITest::Engine::wait_until(sub {
		$world->advance;
		$world->tick;
		my $v = api(GET => "/api/v1/macro/executions/$id")->{data};
		return $v && $v->{status} =~ /^(?:completed|failed|timed_out|stopped)$/ ? $v : undef;
	}, 30, 0.01);
	ok($view, 'the execution ended') or return;
	return $view;
}

# Whether @want appear in @got in this order (other commands may come between).
sub in_order {
	my ($got, @want) = @_;
	my $i = 0;
	for my $command (@$got) {
		$i++ if $i < @want && $command eq $want[$i];
	}
	return $i == @want;
}

subtest 'a macro\'s commands run in order, as written, and are acknowledged' => sub {
	my $world = OAITest::World->new(name => "Macro$$", inventory => [{ id => 501, name => 'Red Potion', amount => 3 }]);
	my $plugin = $world->load_plugin(%settings);
	$world->tick;
	ok($plugin->{session_id}, 'session');
	my @commands = ('c hello from the engine', 'sit', 'move 110 120', 'is Red Potion', 'p party time;;c two at once');
	my $name = put_macro("oaiGreet$$", (map { "do $_" } @commands[0 .. 2]), 'log half way', 'pause 0.1', map { "do $_" } @commands[3 .. 4]);
	my $view = run_macro($world, $plugin, $name) or return;
	is($view->{status}, 'completed', 'completed') or diag explain $view;
	is_deeply($view->{actions}, { queued => 5, delivered => 5, acknowledged => 5, failed => 0 }, 'five actions delivered and acknowledged');
	my @ran = map { split /;;/ } @Commands::ran;
	ok(in_order(\@ran, (map { split /;;/ } @commands)), 'every command ran, in the macro\'s order') or diag explain \@Commands::ran;
	is(scalar(grep { $_ eq 'c hello from the engine' } @Commands::ran), 1, 'each once');
	is_deeply(\@OAITest::World::died, [], 'no hook died');
	$world->unload_plugin;
};

subtest 'a command that fails is acknowledged as a failure; the macro goes on' => sub {
	my $world = OAITest::World->new(name => "MacroFail$$");
	my $plugin = $world->load_plugin(%settings);
	$world->tick;
	my $name = put_macro("oaiFail$$", 'do a 77', 'do c still here');
	my $view = run_macro($world, $plugin, $name) or return;
	is($view->{status}, 'completed', 'completed');
	is_deeply($view->{actions}, { queued => 2, delivered => 2, acknowledged => 1, failed => 1 }, 'one failed, one acknowledged');
	ok((grep { /failed: .*Monster 77 does not exist/ } @{$view->{log}}), 'the failure and its reason are in the execution log') or diag explain $view->{log};
	ok(in_order(\@Commands::ran, 'a 77', 'c still here'), 'both ran, in order');
	$world->unload_plugin;
};

subtest 'a macro command sent again by the engine runs again (no deduplication of macro commands)' => sub {
	my $world = OAITest::World->new(name => "MacroTwice$$");
	my $plugin = $world->load_plugin(%settings);
	$world->tick;
	my $name = put_macro("oaiTwice$$", 'do c same', 'do c same', 'do c same');
	my $view = run_macro($world, $plugin, $name) or return;
	is($view->{status}, 'completed', 'completed');
	is(scalar(grep { $_ eq 'c same' } @Commands::ran), 3, 'three times');
	$world->unload_plugin;
};

done_testing;

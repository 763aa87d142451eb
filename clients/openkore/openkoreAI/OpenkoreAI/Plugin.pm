package OpenkoreAI::Plugin;

# The plugin itself: hooks, the tick, the engine's protocol and the `oai` console command.
#
# Every hook runs inside guard(): OpenKore has no eval around hooks, and a die in one
# disconnects and ends the bot. Every engine call made from one hook shares one deadline
# (openkoreAI_timeout), because each call blocks OpenKore's main loop. While the engine cannot
# be reached, refuses the token or keeps failing, the plugin waits (doubling up to
# openkoreAI_retryMax) and gives the config keys it held back to OpenKore's own AI.

use strict;
use warnings;
use Time::HiRes ();
use Plugins;
use Globals qw(%config $char $net);
use Log qw(message warning error debug);
use AI ();
use Commands ();
use Misc ();
use Network ();
use Settings ();
use OpenkoreAI::Actions;
use OpenkoreAI::Engine;
use OpenkoreAI::GameState;
use OpenkoreAI::JSON;

our $VERSION = '1.0.0';

use constant DOMAIN => 'openkoreAI';
# Below this much time left in a hook's budget, no call is started.
use constant MIN_CALL => 0.01;
use constant MAX_FEEDBACK => 100;
use constant MAX_MEMORIES => 200;
use constant MEMORY_BATCH => 20;
use constant MAX_TRIES => 5;
my @CAPABILITIES = qw(state expected_version actions macro_actions action_feedback memory task_poll);
my $UUID = qr/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

# config.txt keys are openkoreAI_<name>; `openkoreAI 0` turns the plugin off.
our %DEFAULT = (
	url       => 'http://127.0.0.1:9901',
	token     => '',
	tick      => 100,
	timeout   => 500,
	retry     => 1000,
	retryMax  => 30000,
	takeover  => 'attackAuto, route_randomWalk',
	repeat    => 1000,
	poll      => 1000,
	memories  => 1,
	rareItems => '',
);

sub now { Time::HiRes::time() }

sub new {
	my ($class) = @_;
	return bless {
		engine       => OpenkoreAI::Engine->new(agent => "openkoreAI/$VERSION"),
		link         => 'unknown',
		session_id   => undef,
		session_char => undef,
		version      => undef,
		feedback     => [],
		memories     => [],
		recent       => {},
		seen_whisper => {},
		levels       => {},
		logged       => {},
		failures     => 0,
		losses       => 0,
		next_try     => 0,
		stats        => { map { $_ => 0 } qw(calls ticks posts conflicts handshakes session_losses executed skipped failed
			timeouts outages errors rejected server_errors feedback_sent feedback_dropped memories_sent memories_dropped polls) },
	}, $class;
}

# ------------------------------------------------------------------ install

sub install {
	my ($self) = @_;
	my $on = sub {
		my ($hook, $what, $method) = @_;
		return [$hook, sub { $self->guard($what, $method, $_[1]) }, undef];
	};
	$self->{hooks} = Plugins::addHooks(
		$on->('AI_pre',             'tick',             \&tick),
		$on->('mainLoop_post',      'background work',  \&background),
		$on->('in_game',            'in_game',          \&on_in_game),
		$on->('packet_mapChange',   'map change',       \&on_map_change),
		$on->('self_died',          'self_died',        \&on_died),
		$on->('base_level_changed', 'base level',       sub { $_[0]->on_level('base', $_[1]) }),
		$on->('job_level_changed',  'job level',        sub { $_[0]->on_level('job', $_[1]) }),
		$on->('item_gathered',      'item_gathered',    \&on_item_gathered),
		$on->('packet_privMsg',     'private message',  \&on_private_message),
		$on->('post_configModify',  'config change',    \&on_config),
		$on->('pos_load_config.txt', 'config reload',   \&on_config),
	);
	$self->{commands} = Commands::register(
		['oai', 'openkoreAI: engine link, session, last decision (oai [status|on|off|last|session|help])', sub { $self->guard('oai command', \&command, $_[1]) }],
	);
	# Errors a console command reports while the plugin runs it tell whether the action failed.
	$self->{log_hook} = Log::addHook(sub {
		my ($type, undef, undef, undef, $text) = @_;
		push @{$self->{capture}}, $text if $self->{capture} && defined $type && $type eq 'error';
	});
	return $self;
}

sub uninstall {
	my ($self) = @_;
	return if $self->{uninstalled}++;
	eval { $self->release_control('plugin unloaded'); 1 };
	eval { Plugins::delHooks($self->{hooks}) if $self->{hooks}; 1 };
	eval { Commands::unregister($self->{commands}) if $self->{commands}; 1 };
	eval { Log::delHook($self->{log_hook}) if defined $self->{log_hook}; 1 };
	eval { $self->{engine}->close; 1 };
	return;
}

# Runs a hook's work; whatever it throws is logged and counted, never passed on to OpenKore.
sub guard {
	my ($self, $what, $code, @args) = @_;
	return if $self->{uninstalled};
	my $ok = eval { $code->($self, @args); 1 };
	unless ($ok) {
		my $err = defined $@ && length $@ ? $@ : 'unknown error';
		$err =~ s/\s+$//;
		$self->{stats}{errors}++;
		eval { $self->log_limited("die:$what", 60, 'error', "internal error in $what (OpenKore keeps running): $err"); 1 };
	}
	return;
}

# ------------------------------------------------------------------ settings

sub setting {
	my ($self, $key) = @_;
	my $v = $config{"openkoreAI_$key"};
	return defined $v && $v =~ /\S/ ? $v : $DEFAULT{$key};
}

sub seconds {
	my ($self, $key, $min, $max) = @_;
	my $v = $self->setting($key);
	unless (defined $v && $v =~ /^\s*\d+\s*$/) {
		$self->log_limited("setting:$key", 300, 'warning', "openkoreAI_$key '$v' is not a number of milliseconds: using $DEFAULT{$key}");
		$v = $DEFAULT{$key};
	}
	$v = $min if $v < $min;
	$v = $max if $v > $max;
	return $v / 1000;
}

sub enabled {
	my $v = $config{openkoreAI};
	return !(defined $v && $v =~ /^\s*(?:0|off|no|false)\s*$/i);
}

sub url {
	my ($self) = @_;
	my $url = $self->setting('url');
	$url =~ s/^\s+|\s+$//g;
	$url =~ s{/+$}{};
	return $url;
}

sub token {
	my ($self) = @_;
	my $token = $self->setting('token');
	$token =~ s/^\s+|\s+$//g;
	return $token;
}

sub takeover_keys {
	my ($self) = @_;
	my $v = $self->setting('takeover');
	return () if !defined $v || $v =~ /^\s*(?:0|none|off|no)?\s*$/i;
	return grep { /^\w+$/ } split /[\s,]+/, $v;
}

sub in_game {
	return 0 unless $char && defined $char->{name} && length OpenkoreAI::GameState::text($char->{name}, 64);
	return 0 unless $net;
	my $state = eval { $net->getState };
	return defined $state && $state == Network::IN_GAME() ? 1 : 0;
}

# ------------------------------------------------------------------ logging

sub say {
	my ($self, $level, $text) = @_;
	$text = "[openkoreAI] $text";
	$text .= "\n" unless $text =~ /\n\z/;
	if ($level eq 'error') { error($text, DOMAIN) }
	elsif ($level eq 'warning') { warning($text, DOMAIN) }
	elsif ($level eq 'debug') { debug($text, DOMAIN) }
	else { message($text, DOMAIN) }
	return;
}

sub log_limited {
	my ($self, $key, $every, $level, $text) = @_;
	my $now = now();
	my $last = $self->{logged}{$key};
	return if defined $last && $now - $last < $every;
	$self->{logged}{$key} = $now;
	$self->say($level, $text);
	return;
}

# ------------------------------------------------------------------ the engine link

sub waiting {
	my ($self, $now) = @_;
	return $self->{next_try} && ($now || now()) < $self->{next_try};
}

sub call {
	my ($self, $method, $path, $body, $deadline) = @_;
	return { kind => 'skipped' } if $self->waiting || $deadline - now() < MIN_CALL;
	$self->{stats}{calls}++;
	my $r = $self->{engine}->call($method, $path, $body, url => $self->url, token => $self->token, deadline => $deadline);
	$self->{stats}{timeouts}++ if $r->{timeout};
	return $r;
}

sub link_up {
	my ($self) = @_;
	$self->{failures} = 0;
	my $was = $self->{link};
	return if $was eq 'up';
	$self->{link} = 'up';
	$self->{next_try} = 0;
	$self->{backoff} = undef;
	my $url = $self->url;
	if ($was eq 'down') {
		my $for = defined $self->{down_since} ? sprintf(' after %.1f s', now() - $self->{down_since}) : '';
		$self->say('message', "engine back at $url$for: it drives the bot again");
	} elsif ($was eq 'token_refused') {
		$self->say('message', "the engine at $url accepted the token");
	} else {
		$self->say('message', "connected to the engine at $url");
	}
	return;
}

sub schedule_retry {
	my ($self) = @_;
	my $first = $self->seconds('retry', 10, 600_000);
	my $max = $self->seconds('retryMax', 10, 3_600_000);
	$self->{backoff} = defined $self->{backoff} ? $self->{backoff} * 2 : $first;
	$self->{backoff} = $max if $self->{backoff} > $max;
	$self->{next_try} = now() + $self->{backoff};
	return;
}

sub link_down {
	my ($self, $reason) = @_;
	$self->{problem} = $reason;
	if ($self->{link} ne 'down') {
		$self->{link} = 'down';
		$self->{down_since} = now();
		$self->{backoff} = undef;
		$self->{stats}{outages}++;
		$self->say('warning', "engine down at " . $self->url . " ($reason): OpenKore's own AI drives the bot until it is back");
	}
	$self->schedule_retry;
	$self->release_control(undef, 'quiet');
	return;
}

sub token_refused {
	my ($self, $r) = @_;
	$self->{problem} = "token refused ($r->{status} $r->{code})";
	if ($self->{link} ne 'token_refused') {
		$self->{link} = 'token_refused';
		$self->{backoff} = undef;
		my $have = length $self->token ? 'openkoreAI_token is not the engine\'s token' : 'the engine needs a token: set openkoreAI_token';
		$self->say('error', "the engine at " . $self->url . " refused the token ($r->{status} $r->{code}): $have in config.txt; OpenKore's own AI drives the bot meanwhile");
	}
	$self->schedule_retry;
	$self->release_control(undef, 'quiet');
	return;
}

sub server_trouble {
	my ($self, $what, $text) = @_;
	$self->{stats}{server_errors}++;
	$self->{failures}++;
	$self->log_limited("trouble:$what", 30, 'warning', "$what: $text (skipped; OpenKore keeps running)");
	$self->link_down("$self->{failures} failed answers in a row") if $self->{failures} >= 3;
	return;
}

# What any unsuccessful call does to the link.
sub on_failure {
	my ($self, $r, $what) = @_;
	my $kind = $r->{kind};
	return if $kind eq 'skipped';
	if ($kind eq 'down') {
		$self->link_down($r->{error});
		return;
	}
	if ($kind eq 'invalid') {
		$self->{stats}{errors}++;
		$self->log_limited("invalid:$what", 60, 'error', "could not send the $what: $r->{error}");
		return;
	}
	if ($kind eq 'malformed') {
		$self->server_trouble($what, "the engine answered $r->{error}");
		return;
	}
	my ($status, $code, $msg) = ($r->{status}, $r->{code}, $r->{message});
	if ($status == 401 || $code eq 'INVALID_TOKEN') {
		$self->token_refused($r);
		return;
	}
	if ($status == 429) {
		my $wait = defined $r->{retry_after} && $r->{retry_after} > 0 ? $r->{retry_after} : 1;
		$wait = 60 if $wait > 60;
		$self->{next_try} = now() + $wait;
		$self->log_limited('busy', 60, 'warning', "the engine is limiting this bot ($status $code): pausing ${wait} s. A farm on one address needs a higher RATE_LIMIT_RPS");
		return;
	}
	if ($status == 502 || $status == 503 || $status == 504) {
		$self->link_down("$status $code" . (length $msg ? ": $msg" : ''));
		return;
	}
	if ($status >= 500) {
		$self->server_trouble($what, "the engine answered $status $code" . (length $msg ? ": $msg" : ''));
		return;
	}
	# The engine refused what this plugin sent (400, 404, 409, 413, …): a fault of the plugin or
	# of the state it was given, worth one clear line, not a reason to stop.
	$self->{stats}{rejected}++;
	$self->log_limited("rejected:$what:$code", 30, 'error', "the engine refused the $what ($status $code" . (length $msg ? ": $msg" : '') . ')');
	return;
}

# ------------------------------------------------------------------ control of the bot

sub take_control {
	my ($self) = @_;
	unless ($self->{control}) {
		my %saved = map { $_ => $config{$_} } $self->takeover_keys;
		$self->{control} = \%saved;
		my $held = %saved ? ' (' . join(', ', sort keys %saved) . ' held at 0 meanwhile)' : '';
		$self->say('message', "the engine drives the bot$held");
	}
	for my $key (keys %{$self->{control}}) {
		my $v = $config{$key};
		next if !defined $v || $v eq '0';
		# Set since (by the operator or a config reload): that is what to give back.
		$self->{control}{$key} = $v;
		$config{$key} = 0;
	}
	return;
}

sub release_control {
	my ($self, $why, $quiet) = @_;
	my $saved = delete $self->{control} or return;
	for my $key (keys %$saved) {
		if (defined $saved->{$key}) { $config{$key} = $saved->{$key} }
		else { delete $config{$key} }
	}
	$self->say('message', "OpenKore's own AI drives the bot" . ($why ? " ($why)" : '')) unless $quiet;
	return;
}

# ------------------------------------------------------------------ the tick

sub tick {
	my ($self) = @_;
	my $now = now();
	unless ($self->enabled) {
		$self->release_control('openkoreAI is off');
		return;
	}
	return unless $self->in_game;
	return if defined $self->{last_tick} && $now - $self->{last_tick} < $self->seconds('tick', 0, 60_000);
	$self->{last_tick} = $now;
	$self->{ticked} = 1;
	$self->{levels}{base} = $char->{lv};
	$self->{levels}{job} = $char->{lv_job};
	return if $self->waiting($now);
	my $deadline = $now + $self->seconds('timeout', 50, 60_000);
	$self->flush_feedback($deadline);
	return unless $self->ensure_session($deadline);
	$self->send_state($deadline);
	return;
}

sub client_version {
	my $v = join(' ', grep { defined && length } $Settings::NAME, $Settings::VERSION) || 'OpenKore';
	return OpenkoreAI::GameState::text("$v; openkoreAI $VERSION", 64);
}

sub ensure_session {
	my ($self, $deadline) = @_;
	my $name = OpenkoreAI::GameState::text($char->{name}, 64);
	return 1 if defined $self->{session_id} && $self->{session_char} eq $name;
	if (defined $self->{session_id}) {
		$self->say('message', "character changed ($self->{session_char} → $name): opening a new session");
		$self->forget_session;
	}
	my $r = $self->call(POST => '/api/v1/handshake', {
		client         => 'openkore',
		client_version => client_version(),
		pid            => $$ + 0,
		capabilities   => [@CAPABILITIES],
		character_name => $name,
	}, $deadline);
	if ($r->{kind} eq 'ok') {
		my $id = ref $r->{data} eq 'HASH' ? $r->{data}{session_id} : undef;
		if (defined $id && !ref $id && $id =~ $UUID) {
			$self->{session_id} = $id;
			$self->{session_char} = $name;
			$self->{version} = 0;
			$self->{stats}{handshakes}++;
			$self->link_up;
			$self->say('message', "session $id opened for $name");
			return 1;
		}
		$r = { kind => 'malformed', status => $r->{status}, error => "$r->{status} without a session_id" };
	}
	$self->on_failure($r, 'handshake');
	# Refused as sent (a 4xx): asking again every tick would not change the answer.
	$self->schedule_retry if $r->{kind} eq 'error' && $r->{status} >= 400 && $r->{status} < 500 && $r->{status} != 401 && $r->{status} != 429;
	return 0;
}

sub forget_session {
	my ($self) = @_;
	$self->{session_id} = undef;
	$self->{session_char} = undef;
	$self->{version} = undef;
	delete $self->{task};
	return;
}

# The engine no longer knows the session (it expired, or the engine restarted on a new database).
sub lost_session {
	my ($self, $why) = @_;
	$self->{stats}{session_losses}++;
	$self->{losses}++;
	$self->say('message', "the engine no longer knows session $self->{session_id} ($why): opening a new one") if defined $self->{session_id};
	$self->forget_session;
	if ($self->{losses} >= 2) {
		# A new session lost at once again: the engine does not keep sessions, no use insisting.
		$self->{losses} = 0;
		$self->link_down("the engine lost two sessions in a row");
		return 0;
	}
	return 1;
}

sub send_state {
	my ($self, $deadline) = @_;
	my $state = OpenkoreAI::GameState::build() or return;
	for my $attempt (1 .. 3) {
		my %body = (session_id => $self->{session_id}, game_state => $state);
		$body{expected_version} = $self->{version} + 0 if defined $self->{version};
		my $r = $self->call(POST => '/api/v1/state', \%body, $deadline);
		return if $r->{kind} eq 'skipped';
		$self->{stats}{posts}++;
		return $self->on_decision($r, $deadline) if $r->{kind} eq 'ok';
		if ($r->{kind} eq 'error' && $r->{code} eq 'VERSION_CONFLICT'
			&& defined $r->{details}{current_version} && $r->{details}{current_version} =~ /^\d+$/) {
			# Another update reached the session first (a state sent in a call that timed out, or
			# the engine resumed from an older snapshot): take its version and send this one again.
			$self->{stats}{conflicts}++;
			$self->link_up;
			$self->say('debug', "state version $self->{version} was stale, the engine is at $r->{details}{current_version}: sending again");
			$self->{version} = $r->{details}{current_version} + 0;
			next;
		}
		if ($r->{kind} eq 'error' && ($r->{status} == 410 || ($r->{status} == 404 && $r->{code} eq 'NOT_FOUND'))) {
			$self->link_up;
			return unless $self->lost_session("$r->{status} $r->{code}") && $self->ensure_session($deadline);
			next;
		}
		$self->on_failure($r, 'state update');
		return;
	}
	return;
}

sub on_decision {
	my ($self, $r, $deadline) = @_;
	my $d = $r->{data};
	unless (ref $d eq 'HASH' && defined $d->{version} && !ref $d->{version} && $d->{version} =~ /^\d+$/) {
		$self->on_failure({ kind => 'malformed', status => $r->{status}, error => "$r->{status} without a state version" }, 'state update');
		return;
	}
	# The update is applied, whatever the rest of the answer holds.
	$self->{version} = $d->{version} + 0;
	$self->{stats}{ticks}++;
	$self->{losses} = 0;
	my $pending = $r->{status} == 202;
	my $action = $pending ? $d->{fallback_action} : $d->{action};
	unless (ref $action eq 'HASH' && defined $action->{type} && !ref $action->{type} && length $action->{type}) {
		$self->server_trouble('state update', "the engine answered $r->{status} without " . ($pending ? 'a fallback action' : 'an action'));
		return;
	}
	$self->link_up;
	$self->take_control;
	if ($pending) {
		my $id = $d->{task_id};
		if (defined $id && !ref $id && $id =~ $UUID && !($self->{task} && $self->{task}{id} eq $id)) {
			$self->{task} = { id => $id, since => now(), status => 'pending' };
		}
		$self->perform($action, 'fallback', $deadline);
		return;
	}
	my $tier = defined $d->{decision_tier} && !ref $d->{decision_tier} ? $d->{decision_tier} : 'unknown';
	# A plan reaches the bot as the decision of a later tick (tier llm, no macro source): the task
	# followed by polling is then settled.
	delete $self->{task} if $tier eq 'llm' && !defined $action->{source};
	$self->perform($action, $tier, $deadline);
	return;
}

# ------------------------------------------------------------------ executing actions

sub signature {
	my ($type, $params) = @_;
	return join('|', $type, map { "$_=" . (ref $params->{$_} ? '*' : defined $params->{$_} ? $params->{$_} : '') } sort keys %$params);
}

# Why a decision needs no command now: the engine repeats its decision every tick, while a
# command repeated every tick stacks attacks, restarts routes and spends potions.
sub already_doing {
	my ($self, $plan, $sig, $now) = @_;
	my $kind = $plan->{kind};
	if ($kind eq 'attack' && defined $plan->{target}) {
		for my $i (0 .. $#Globals::ai_seq) {
			next unless defined $Globals::ai_seq[$i] && $Globals::ai_seq[$i] eq 'attack';
			my $args = $Globals::ai_seq_args[$i];
			return 'already attacking it' if ref $args eq 'HASH' && defined $args->{ID} && $args->{ID} eq $plan->{target};
		}
	}
	if ($kind eq 'move' && near($self->{last_move}, $plan->{move}) && eval { AI::inQueue('route', 'move', 'mapRoute') }) {
		return 'already on the way';
	}
	return 'already sitting' if $kind eq 'sit' && $char->{sitting};
	return 'already standing' if $kind eq 'stand' && !$char->{sitting};
	my $last = $self->{recent}{$sig};
	return 'done moments ago' if defined $last && $now - $last < $self->seconds('repeat', 0, 600_000);
	return;
}

# Two destinations a route need not be restarted for: the same map, at most 3 cells apart (a
# flight recomputed from each step of the way lands next to the last one).
sub near {
	my ($was, $now) = @_;
	return 0 unless ref $was eq 'HASH' && ref $now eq 'HASH' && lc $was->{map} eq lc $now->{map};
	return 1 unless defined $was->{x} && defined $now->{x};
	return abs($was->{x} - $now->{x}) <= 3 && abs($was->{y} - $now->{y}) <= 3;
}

sub perform {
	my ($self, $action, $tier, $deadline) = @_;
	my $now = now();
	my $type = uc $action->{type};
	my $params = ref $action->{params} eq 'HASH' ? $action->{params} : {};
	my $source = defined $action->{source} && !ref $action->{source} ? $action->{source} : undef;
	my $macro = defined $source && $source =~ /^macro:/ ? 1 : 0;
	my $last = $self->{last} = {
		tier    => $tier,
		type    => $type,
		params  => $params,
		reason  => OpenkoreAI::GameState::text($action->{reason}, 200),
		source  => $source,
		at      => $now,
		version => $self->{version},
	};
	my $plan = OpenkoreAI::Actions::translate($type, $params, macro => $macro);
	if ($plan->{none}) {
		$last->{result} = 'nothing to do';
		return;
	}
	my $sig = signature($type, $params);
	# A macro's commands run each time they are delivered: the engine sends each one once and
	# waits for its acknowledgement.
	unless ($macro) {
		my $why = $plan->{fail} ? $self->recently($sig, $now) : $self->already_doing($plan, $sig, $now);
		if ($why) {
			$last->{result} = "skipped: $why";
			$self->{stats}{skipped}++;
			return;
		}
	}
	$self->{recent}{$sig} = $now;
	$self->prune_recent($now);
	if ($plan->{fail}) {
		$last->{result} = "failed: $plan->{fail}";
		$self->{stats}{failed}++;
		$self->say('debug', "$tier $type cannot be done: $plan->{message}");
		$self->feedback($type, 0, "$plan->{fail}: $plan->{message}", $plan->{message}, $deadline);
		return;
	}
	my ($ok, $why) = $self->run_command($plan->{command});
	$self->{last_move} = $plan->{move} if $plan->{kind} eq 'move';
	$last->{command} = $plan->{command};
	$last->{result} = $ok ? 'done' : "failed: $why";
	$self->{stats}{$ok ? 'executed' : 'failed'}++;
	$self->say('debug', "$tier $type: $plan->{command}" . ($ok ? '' : " failed: $why"));
	# The reason is what the engine shows (a macro execution's log), so it says what went wrong.
	$self->feedback($type, $ok, $ok ? 'executed' : "command_failed: $why", $ok ? $plan->{command} : "$plan->{command}: $why", $deadline);
	return;
}

sub recently {
	my ($self, $sig, $now) = @_;
	my $last = $self->{recent}{$sig};
	return defined $last && $now - $last < $self->seconds('repeat', 0, 600_000) ? 'failed moments ago' : undef;
}

sub prune_recent {
	my ($self, $now) = @_;
	my $recent = $self->{recent};
	return if keys %$recent < 256;
	my $keep = $self->seconds('repeat', 0, 600_000);
	delete $recent->{$_} for grep { $now - $recent->{$_} >= $keep } keys %$recent;
	return;
}

# Runs a console command; the errors it reports (Log::error) make it a failure.
sub run_command {
	my ($self, $command) = @_;
	my @errors;
	local $self->{capture} = \@errors;
	my $ok = eval { Commands::run($command); 1 };
	unless ($ok) {
		my $err = defined $@ ? $@ : 'unknown error';
		$err =~ s/\s+$//;
		return (0, "the command died: $err");
	}
	return (1, '') unless @errors;
	my $text = join(' ', @errors);
	$text =~ s/\s+/ /g;
	$text =~ s/^\s+|\s+$//g;
	return (0, $text);
}

# ------------------------------------------------------------------ feedback

sub feedback {
	my ($self, $type, $ok, $reason, $message, $deadline) = @_;
	return unless defined $self->{session_id};
	push @{$self->{feedback}}, {
		tries => 0,
		body  => {
			session_id => $self->{session_id},
			action     => $type,
			status     => $ok ? 'success' : 'failure',
			reason     => OpenkoreAI::GameState::text($reason, 500),
			message    => OpenkoreAI::GameState::text($message, 2000),
		},
	};
	while (@{$self->{feedback}} > MAX_FEEDBACK) {
		shift @{$self->{feedback}};
		$self->{stats}{feedback_dropped}++;
	}
	$self->flush_feedback($deadline);
	return;
}

sub flush_feedback {
	my ($self, $deadline) = @_;
	while (my $entry = $self->{feedback}[0]) {
		my $r = $self->call(POST => '/api/v1/action_feedback', $entry->{body}, $deadline);
		last if $r->{kind} eq 'skipped';
		if ($r->{kind} eq 'ok') {
			shift @{$self->{feedback}};
			$self->{stats}{feedback_sent}++;
			$self->link_up;
			next;
		}
		if ($r->{kind} eq 'error' && $r->{status} >= 400 && $r->{status} < 500 && $r->{status} != 401 && $r->{status} != 429) {
			# Refused as it is: sending it again cannot help.
			shift @{$self->{feedback}};
			$self->{stats}{feedback_dropped}++;
			$self->on_failure($r, 'action feedback');
			next;
		}
		if (++$entry->{tries} >= MAX_TRIES) {
			shift @{$self->{feedback}};
			$self->{stats}{feedback_dropped}++;
		}
		$self->on_failure($r, 'action feedback');
		last;
	}
	return;
}

# ------------------------------------------------------------------ between ticks

# mainLoop_post: work that need not hold up a tick (acknowledgements left over, polling a plan,
# memories), one call per loop iteration, and not in an iteration that ran a tick unless every
# iteration does (a tick interval of 0) and it has waited a second.
sub background {
	my ($self) = @_;
	my $now = now();
	return if delete $self->{ticked} && $now - ($self->{background_at} || 0) < 1;
	return unless $self->enabled && $self->{link} eq 'up' && defined $self->{session_id};
	return if $self->waiting($now);
	$self->{background_at} = $now;
	my $deadline = $now + $self->seconds('timeout', 50, 60_000);
	if (@{$self->{feedback}}) {
		$self->flush_feedback($deadline);
		return;
	}
	my $task = $self->{task};
	if ($task && $now - $task->{since} > 120) {
		delete $self->{task};
		$task = undef;
	}
	if ($task && $task->{status} eq 'pending' && $now - ($task->{polled} || $task->{since}) >= $self->seconds('poll', 50, 600_000)) {
		$self->poll_task($deadline);
		return;
	}
	$self->flush_memories($deadline) if @{$self->{memories}};
	return;
}

sub poll_task {
	my ($self, $deadline) = @_;
	my $task = $self->{task};
	$task->{polled} = now();
	$self->{stats}{polls}++;
	my $r = $self->call(GET => "/api/v1/action/$task->{id}", undef, $deadline);
	if ($r->{kind} eq 'ok' && ref $r->{data} eq 'HASH') {
		$self->link_up;
		my $status = defined $r->{data}{status} && !ref $r->{data}{status} ? $r->{data}{status} : '';
		if ($status eq 'completed') {
			# The plan is delivered with a later decision: running it from here as well would
			# run it twice (that decision does not say which task it came from).
			$task->{status} = 'completed';
		} elsif ($status eq 'failed') {
			my $why = OpenkoreAI::GameState::text($r->{data}{error}, 200);
			$self->log_limited('plan failed', 60, 'warning', "the engine's strategic plan failed" . (length $why ? ": $why" : ''));
			delete $self->{task};
		}
		return;
	}
	if ($r->{kind} eq 'error' && $r->{status} == 404) {
		delete $self->{task};
		return;
	}
	$self->on_failure($r, 'plan poll');
	return;
}

# ------------------------------------------------------------------ memories

sub remember {
	my ($self, $type, $importance, %event) = @_;
	return unless $self->enabled && $self->setting('memories') !~ /^\s*(?:0|off|no|false)\s*$/i;
	my ($x, $y) = OpenkoreAI::GameState::coords($char);
	my $event = {
		type      => $type,
		location  => { map => OpenkoreAI::GameState::map_name(), defined $x ? (x => $x, y => $y) : () },
		character => { name => OpenkoreAI::GameState::text($char->{name}, 64), level => OpenkoreAI::GameState::num($char->{lv}, 0, 1000) },
		timestamp => int(now() * 1000),
		%event,
	};
	push @{$self->{memories}}, { tries => 0, item => { event => $event, importance => $importance, memory_type => 'episodic' } };
	while (@{$self->{memories}} > MAX_MEMORIES) {
		shift @{$self->{memories}};
		$self->{stats}{memories_dropped}++;
	}
	$self->say('debug', "remembering $type");
	return;
}

sub flush_memories {
	my ($self, $deadline) = @_;
	return unless defined $self->{session_id} && @{$self->{memories}};
	my $n = @{$self->{memories}} < MEMORY_BATCH ? scalar @{$self->{memories}} : MEMORY_BATCH;
	my @batch = @{$self->{memories}}[0 .. $n - 1];
	my $r = $n == 1
		? $self->call(POST => '/api/v1/memory/store', { session_id => $self->{session_id}, %{$batch[0]{item}} }, $deadline)
		: $self->call(POST => '/api/v1/memory/store/batch', { session_id => $self->{session_id}, memories => [map { $_->{item} } @batch] }, $deadline);
	return if $r->{kind} eq 'skipped';
	if ($r->{kind} eq 'ok') {
		splice(@{$self->{memories}}, 0, $n);
		$self->{stats}{memories_sent} += $n;
		$self->link_up;
		return;
	}
	if ($r->{kind} eq 'error' && $r->{status} == 404 && $r->{code} eq 'NOT_FOUND') {
		# Kept for the next session.
		$self->link_up;
		$self->lost_session("$r->{status} $r->{code}");
		return;
	}
	if ($r->{kind} eq 'error' && $r->{status} >= 400 && $r->{status} < 500 && $r->{status} != 401 && $r->{status} != 429) {
		splice(@{$self->{memories}}, 0, $n);
		$self->{stats}{memories_dropped} += $n;
	} else {
		$_->{tries}++ for @batch;
		while (@{$self->{memories}} && $self->{memories}[0]{tries} >= MAX_TRIES) {
			shift @{$self->{memories}};
			$self->{stats}{memories_dropped}++;
		}
	}
	$self->on_failure($r, 'memory');
	return;
}

# ------------------------------------------------------------------ game events

sub on_in_game {
	my ($self) = @_;
	return unless $self->enabled && $self->in_game;
	my $now = now();
	return if $self->waiting($now);
	$self->ensure_session($now + $self->seconds('timeout', 50, 60_000));
	return;
}

sub on_map_change {
	my ($self) = @_;
	delete $self->{last_move};
	return;
}

sub on_died {
	my ($self) = @_;
	return unless $char;
	my @attackers = map { OpenkoreAI::GameState::text($_->{name}, 64) }
		grep { $_->{dmgToYou} || $_->{missedYou} } OpenkoreAI::GameState::actors($Globals::monstersList);
	my $map = OpenkoreAI::GameState::map_name();
	$self->remember('death', 0.9,
		actors    => \@attackers,
		outcome   => 'died',
		situation => "died on $map" . (@attackers ? ' fighting ' . join(', ', @attackers) : ''),
	);
	return;
}

sub on_level {
	my ($self, $which, $args) = @_;
	my $level = ref $args eq 'HASH' ? $args->{level} : undef;
	return unless defined $level && $level =~ /^\d+$/;
	my $before = $self->{levels}{$which};
	$self->{levels}{$which} = $level;
	# The level stat also arrives at login: only a rise seen since the last tick is a level-up.
	return unless defined $before && $before =~ /^\d+$/ && $level > $before;
	$self->remember($which eq 'base' ? 'level_up' : 'job_level_up', $which eq 'base' ? 0.6 : 0.5,
		level     => $level + 0,
		previous  => $before + 0,
		outcome   => 'progress',
		situation => "reached $which level $level",
	);
	return;
}

sub on_item_gathered {
	my ($self, $args) = @_;
	my $name = ref $args eq 'HASH' ? OpenkoreAI::GameState::text($args->{item}, 64) : '';
	return unless length $name;
	my %rare = map { lc($_) => 1 } grep { length } map { s/^\s+|\s+$//gr } split /,/, $self->setting('rareItems');
	return unless $name =~ /\bcard\b/i || $rare{lc $name};
	my $amount = OpenkoreAI::GameState::num($args->{amount}, 1, 1_000_000);
	$self->remember('rare_drop', 0.8,
		item      => $name,
		amount    => $amount,
		outcome   => 'loot',
		situation => "picked up $amount x $name",
	);
	return;
}

sub on_private_message {
	my ($self, $args) = @_;
	return unless ref $args eq 'HASH';
	my $from = OpenkoreAI::GameState::text(defined $args->{privMsgUser} ? $args->{privMsgUser} : $args->{MsgUser}, 64);
	return unless length $from && !$self->{seen_whisper}{$from}++;
	my $text = OpenkoreAI::GameState::text(defined $args->{privMsg} ? $args->{privMsg} : $args->{Msg}, 200);
	$self->remember('whisper_from_new_player', 0.5,
		actors    => [$from],
		message   => $text,
		outcome   => 'social',
		situation => "first whisper from $from",
	);
	return;
}

sub on_config {
	my ($self, $args) = @_;
	my $key = ref $args eq 'HASH' ? $args->{key} : undef;
	# A changed URL or token is tried at once rather than after the current wait.
	if (!defined $key || $key =~ /^openkoreAI/) {
		$self->{next_try} = 0;
		$self->{backoff} = undef;
		$self->{engine}->close if !defined $key || $key eq 'openkoreAI_url';
	}
	return;
}

# ------------------------------------------------------------------ console

sub command {
	my ($self, $args) = @_;
	my ($sub) = split ' ', defined $args ? $args : '';
	$sub = lc(defined $sub ? $sub : 'status');
	if ($sub eq 'on' || $sub eq 'off') {
		Misc::configModify('openkoreAI', $sub eq 'on' ? 1 : 0);
		if ($sub eq 'off') {
			$self->release_control('openkoreAI is off');
		} else {
			$self->{next_try} = 0;
			$self->{backoff} = undef;
		}
		$self->say('message', $sub eq 'on' ? 'on: the engine drives the bot from the next tick' : "off: OpenKore's own AI drives the bot");
	} elsif ($sub eq 'status') {
		message($self->status_text, 'list');
	} elsif ($sub eq 'last') {
		message("[openkoreAI] last decision: " . $self->last_text . "\n", 'list');
	} elsif ($sub eq 'session') {
		message("[openkoreAI] session: " . $self->session_text . "\n", 'list');
	} elsif ($sub eq 'help') {
		message("[openkoreAI] oai [status] | oai on | oai off | oai last | oai session\n", 'list');
	} else {
		error("[openkoreAI] unknown oai command '$sub': oai [status|on|off|last|session|help]\n", DOMAIN);
	}
	return;
}

sub session_text {
	my ($self) = @_;
	return 'none yet' unless defined $self->{session_id};
	return "$self->{session_id} ($self->{session_char}), state version $self->{version}";
}

sub last_text {
	my ($self) = @_;
	my $l = $self->{last} or return 'none yet';
	my $params = join(', ', map { "$_=" . (ref $l->{params}{$_} ? '…' : defined $l->{params}{$_} ? $l->{params}{$_} : '') } sort keys %{$l->{params}});
	my $text = sprintf('%s %s%s (%.1f s ago, version %s)', $l->{tier}, $l->{type}, length $params ? " {$params}" : '', now() - $l->{at}, defined $l->{version} ? $l->{version} : '?');
	$text .= " from $l->{source}" if defined $l->{source};
	$text .= ": $l->{command}" if defined $l->{command};
	$text .= " → $l->{result}" if defined $l->{result};
	$text .= " — $l->{reason}" if length $l->{reason};
	return $text;
}

sub status_text {
	my ($self) = @_;
	my $now = now();
	my $link = $self->{link};
	my $engine = $self->url . ' — ';
	if ($link eq 'up') { $engine .= 'up' }
	elsif ($link eq 'unknown') { $engine .= 'not contacted yet' }
	else {
		$engine .= $link eq 'down' ? sprintf('down for %.0f s', $now - ($self->{down_since} || $now)) : 'token refused';
		$engine .= " ($self->{problem})" if defined $self->{problem} && $link eq 'down';
		$engine .= sprintf(', next try in %.1f s', $self->{next_try} - $now) if $self->waiting($now);
	}
	my $control = $self->{control}
		? 'the engine drives' . (%{$self->{control}} ? ' (' . join(', ', sort keys %{$self->{control}}) . ' held at 0)' : '')
		: "OpenKore's own AI";
	my $s = $self->{stats};
	my $task = $self->{task} ? sprintf("%s (%s, %.1f s)", $self->{task}{id}, $self->{task}{status}, $now - $self->{task}{since}) : 'none';
	return join("\n",
		"[openkoreAI] plugin $VERSION — " . ($self->enabled ? 'on' : 'off'),
		"  engine    $engine",
		'  session   ' . $self->session_text . ", $s->{ticks} ticks",
		"  control   $control",
		'  last      ' . $self->last_text,
		"  plan      $task",
		sprintf('  outbox    %d feedback, %d memories', scalar @{$self->{feedback}}, scalar @{$self->{memories}}),
		"  actions   executed $s->{executed}, skipped $s->{skipped}, failed $s->{failed}; feedback sent $s->{feedback_sent}, memories sent $s->{memories_sent}",
		"  problems  timeouts $s->{timeouts}, outages $s->{outages}, conflicts $s->{conflicts}, session losses $s->{session_losses}, refused $s->{rejected}, engine errors $s->{server_errors}, plugin errors $s->{errors}",
	) . "\n";
}

1;

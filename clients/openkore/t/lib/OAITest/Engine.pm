package OAITest::Engine;

# The engine the tests run against: its URL and token from the environment (the test harness
# sets them; by hand: OKAI_ENGINE_URL=http://127.0.0.1:9901 OKAI_ENGINE_TOKEN=... prove -r t),
# direct API calls (HTTP::Tiny, as an operator's tools would make them), and the harness's
# control URL to stop and start the engine (OKAI_CONTROL_URL; tests needing it skip without).

use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes ();

my $json = JSON::PP->new->utf8->canonical;

sub url { $ENV{OKAI_ENGINE_URL} }
sub token { defined $ENV{OKAI_ENGINE_TOKEN} ? $ENV{OKAI_ENGINE_TOKEN} : '' }
sub control_url { $ENV{OKAI_CONTROL_URL} }

# Skips the test file without an engine, unless the harness said one is required.
sub require_engine {
	return if url();
	if ($ENV{OKAI_REQUIRE_ENGINE}) {
		plan tests => 1;
		fail('OKAI_ENGINE_URL is set by the harness');
		exit 1;
	}
	plan skip_all => 'no engine: set OKAI_ENGINE_URL (and OKAI_ENGINE_TOKEN) to run against one';
}

sub require_control {
	require_engine();
	return if control_url();
	if ($ENV{OKAI_REQUIRE_ENGINE}) {
		plan tests => 1;
		fail('OKAI_CONTROL_URL is set by the harness');
		exit 1;
	}
	plan skip_all => 'stopping the engine needs the harness (OKAI_CONTROL_URL)';
}

my $http = HTTP::Tiny->new(timeout => 30);

# api(GET => '/api/v1/...') / api(POST => '/api/v1/...', {...}) → {status, body, data}
sub api {
	my ($method, $path, $body) = @_;
	my %headers = (Accept => 'application/json');
	$headers{Authorization} = 'Bearer ' . token() if length token();
	my %opts = (headers => \%headers);
	if (defined $body) {
		$headers{'Content-Type'} = 'application/json';
		$opts{content} = $json->encode($body);
	}
	my $res = $http->request($method, url() . $path, \%opts);
	my $doc = eval { $json->decode($res->{content}) };
	return { status => $res->{status}, body => $doc, data => ref $doc eq 'HASH' ? $doc->{data} : undef, raw => $res->{content} };
}

sub control {
	my ($action, $body) = @_;
	my $res = $http->request('POST', control_url() . "/engine/$action", {
		headers => { 'Content-Type' => 'application/json' },
		content => $json->encode($body || {}),
	});
	die "engine control $action failed: $res->{status} $res->{content}\n" unless $res->{success};
	return $json->decode($res->{content});
}

# Calls $probe until it returns true or $limit seconds pass; returns its last value.
sub wait_until {
	my ($probe, $limit, $step) = @_;
	my $until = Time::HiRes::time() + ($limit || 20);
	while (1) {
		my $v = $probe->();
		return $v if $v || Time::HiRes::time() > $until;
		Time::HiRes::sleep($step || 0.02);
	}
}

1;

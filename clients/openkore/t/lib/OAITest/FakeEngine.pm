package OAITest::FakeEngine;

# A scripted stand-in for the engine's protocol, served by OAITest::FakeServer: sessions from
# the handshake, state versions checked against expected_version (409 with current_version),
# success envelopes, feedback and memories accepted. `fault` sees each request first and may
# answer in its place (a 500, a malformed body, a hang...); `decide` picks the action.

use strict;
use warnings;
use OAITest::FakeServer;

sub envelope { return { status => $_[1] || 200, json => { status => 'success', data => $_[0], metadata => {} } } }

sub error {
	my ($status, $code, $details) = @_;
	return { status => $status, json => { status => 'error', error => { code => $code, message => "$code (scripted)", details => $details || {} }, metadata => {} } };
}

sub start {
	my ($class, %o) = @_;
	my %version;
	my $sessions = 0;
	my $decide = $o{decide} || sub { { type => 'SIT', params => {}, reason => 'scripted' } };
	return OAITest::FakeServer->start(sub {
		my ($req) = @_;
		if ($o{fault}) {
			my $answer = $o{fault}->($req, \%version);
			return $answer if $answer;
		}
		my $body = ref $req->{json} eq 'HASH' ? $req->{json} : {};
		if ($req->{path} eq '/api/v1/handshake') {
			my $id = sprintf('00000000-0000-4000-8000-%012d', ++$sessions);
			$version{$id} = 0;
			return envelope({ session_id => $id, server => { name => 'fake', version => '0' }, capabilities => [] });
		}
		if ($req->{path} eq '/api/v1/state') {
			my $sid = $body->{session_id};
			return error(404, 'NOT_FOUND') unless defined $sid && exists $version{$sid};
			if (defined $body->{expected_version} && $body->{expected_version} != $version{$sid}) {
				return error(409, 'VERSION_CONFLICT', { current_version => $version{$sid}, expected_version => $body->{expected_version} });
			}
			my $v = ++$version{$sid};
			return envelope({ session_id => $sid, version => $v, decision_tier => 'rule', action => $decide->($req, $v), processing_time_ms => 0.1 });
		}
		return { status => 200, json => { success => JSON::PP::true() } } if $req->{path} eq '/api/v1/action_feedback';
		return envelope({ memory_id => 1 }) if $req->{path} =~ m{^/api/v1/memory/store};
		return envelope({ task_id => $1, status => 'pending' }) if $req->{path} =~ m{^/api/v1/action/(.+)$};
		return error(404, 'NOT_FOUND');
	});
}

1;

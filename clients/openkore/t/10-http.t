use strict;
use warnings;
use FindBin qw($Bin);
use lib "$Bin/lib", "$Bin/../openkoreAI";
use Test::More;
use Time::HiRes ();
use OAITest::FakeServer;
use OpenkoreAI::HTTP;

# The plugin's HTTP client against scripted servers: one deadline bounds a whole call, kept-
# alive connections are reused and replaced when the server drops them.

sub timed {
	my ($code) = @_;
	my $t0 = Time::HiRes::time();
	my $res = $code->();
	return ($res, Time::HiRes::time() - $t0);
}

subtest 'a request and its answer; the connection is kept for the next one' => sub {
	my $server = OAITest::FakeServer->start(sub {
		my ($req) = @_;
		return { status => 200, json => { echo => $req->{json}, path => $req->{path}, auth => $req->{headers}{authorization} } };
	});
	my $http = OpenkoreAI::HTTP->new(agent => 'test');
	for my $i (1 .. 3) {
		my $res = $http->request(POST => $server->url, path => '/api/v1/x', body => qq({"i":$i}),
			headers => { 'Content-Type' => 'application/json', Authorization => 'Bearer t' }, deadline => Time::HiRes::time() + 5);
		is($res->{status}, 200, "answer $i");
		like($res->{content}, qr/"echo":\{"i":$i\}/, 'with the body sent');
		like($res->{content}, qr{"path":"/api/v1/x"}, 'to the path');
		like($res->{content}, qr/"auth":"Bearer t"/, 'with the headers');
	}
	my @conns = map { $_->{conn} } $server->requests;
	is_deeply(\@conns, [1, 1, 1], 'three requests on one connection');
};

subtest 'a server that never answers: the call gives up at its deadline' => sub {
	my $server = OAITest::FakeServer->start(sub { { hang => 1 } });
	my $http = OpenkoreAI::HTTP->new;
	my ($res, $took) = timed(sub { $http->request(GET => $server->url, path => '/', deadline => Time::HiRes::time() + 0.3) });
	is($res->{status}, 599, 'transport failure');
	is($res->{error}, 'timeout', 'a timeout');
	# The server holds the connection for 30 s: returning well before proves the client let go.
	cmp_ok($took, '<', 10, 'returned on its own deadline, not when the server let go');
};

subtest 'a server that trickles its answer cannot stretch the deadline' => sub {
	my $server = OAITest::FakeServer->start(sub { { trickle => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" . ('x' x 100), every => 0.05 } });
	my $http = OpenkoreAI::HTTP->new;
	my ($res, $took) = timed(sub { $http->request(GET => $server->url, path => '/', deadline => Time::HiRes::time() + 0.3) });
	is($res->{error}, 'timeout', 'a timeout, though bytes kept coming');
	# The whole answer takes 7 s to trickle in.
	cmp_ok($took, '<', 5, 'returned before the answer could have been complete');
};

subtest 'a server that closes without answering; a refused connection' => sub {
	my $server = OAITest::FakeServer->start(sub { { close => 1 } });
	my $http = OpenkoreAI::HTTP->new;
	my $res = $http->request(GET => $server->url, path => '/', deadline => Time::HiRes::time() + 2);
	is($res->{status}, 599, 'transport failure');
	like($res->{error}, qr/closed|reset/, 'the connection closed');
	my $port = do { my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1); my $p = $s->sockport; close $s; $p };
	$res = $http->request(GET => "http://127.0.0.1:$port", path => '/', deadline => Time::HiRes::time() + 2);
	is($res->{status}, 599, 'nobody listening');
	like($res->{error}, qr/^connect: /, 'a connect error');
	$res = $http->request(GET => 'https://127.0.0.1:1', path => '/', deadline => Time::HiRes::time() + 2);
	like($res->{error}, qr/unsupported URL/, 'https is refused before connecting');
};

subtest 'chunked answers; a connection the server closes is replaced' => sub {
	my $server = OAITest::FakeServer->start(sub {
		my ($req) = @_;
		return { raw => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n" } if $req->{n} == 1;
		# Answers and closes, as a server whose keep-alive time is up.
		return { status => 200, json => { n => $req->{n} }, close_after => 1 };
	});
	my $http = OpenkoreAI::HTTP->new;
	my $res = $http->request(GET => $server->url, path => '/', deadline => Time::HiRes::time() + 2);
	is($res->{content}, '{"a":1}', 'chunks joined');
	for my $n (2 .. 4) {
		$res = $http->request(GET => $server->url, path => '/', deadline => Time::HiRes::time() + 2);
		is($res->{status}, 200, "request $n answered although the server closed the connection before it");
	}
	my @conns = map { $_->{conn} } $server->requests;
	is_deeply(\@conns, [1, 1, 2, 3], 'a new connection after each close');
};

subtest 'URLs' => sub {
	is_deeply([OpenkoreAI::HTTP::parse_url('http://127.0.0.1:9901')], ['127.0.0.1', 9901, ''], 'host and port');
	is_deeply([OpenkoreAI::HTTP::parse_url('http://127.0.0.1:9901/engine/')], ['127.0.0.1', 9901, '/engine'], 'a path prefix');
	is_deeply([OpenkoreAI::HTTP::parse_url('http://localhost')], ['localhost', 80, ''], 'default port');
	is_deeply([OpenkoreAI::HTTP::parse_url('ftp://x')], [], 'not http');
	is_deeply([OpenkoreAI::HTTP::parse_url(undef)], [], 'nothing');
};

done_testing;

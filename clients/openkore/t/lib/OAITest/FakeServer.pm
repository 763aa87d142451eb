package OAITest::FakeServer;

# A scripted HTTP server in a child process, for what a real engine does not do on demand:
# answers 500, malformed bodies, never answers, trickles bytes, closes the connection. The
# responder gets each request ({method, path, headers, body, json, n}) and returns
#   {status => 200, json => {...}}            JSON answer (Content-Length)
#   {status => 500, body => '...', headers => {...}}
#   {raw => "HTTP/1.1 ..."}                   bytes as given
#   {hang => 1}                               read nothing more, answer nothing, until the
#                                             client closes (at most 30 s)
#   {trickle => "bytes", every => 0.05}       a byte at a time until the client closes
#   {close => 1}                              close without an answer
# (close_after => 1 closes the connection after the answer.)
# Every request is appended to a log the test reads with requests().

use strict;
use warnings;
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes ();

my $json = JSON::PP->new->utf8->canonical;

sub start {
	my ($class, $responder) = @_;
	my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, Proto => 'tcp', ReuseAddr => 1)
		or die "fake server: $!";
	my $port = $listener->sockport;
	my $log = File::Temp->new(SUFFIX => '.jsonl');
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if (!$pid) {
		$SIG{PIPE} = 'IGNORE';
		my ($n, $conn) = (0, 0);
		while (my $client = $listener->accept) {
			$conn++;
			serve($client, $responder, $log->filename, \$n, $conn);
			close $client;
		}
		POSIX::_exit(0);
	}
	close $listener;
	return bless { pid => $pid, port => $port, url => "http://127.0.0.1:$port", log => $log }, $class;
}

sub url { $_[0]{url} }

sub requests {
	my ($self) = @_;
	open my $fh, '<', $self->{log}->filename or return ();
	my @requests = map { $json->decode($_) } grep { /\S/ } <$fh>;
	close $fh;
	return @requests;
}

sub stop {
	my ($self) = @_;
	return unless $self->{pid};
	kill 'KILL', $self->{pid};
	waitpid($self->{pid}, 0);
	$self->{pid} = undef;
	return;
}

sub DESTROY { $_[0]->stop }

sub read_request {
	my ($client, $buf) = @_;
	my $sel = IO::Select->new($client);
	while (index($$buf, "\r\n\r\n") < 0) {
		return unless $sel->can_read(30);
		my $n = sysread($client, $$buf, 65536, length $$buf);
		return unless $n;
	}
	my $end = index($$buf, "\r\n\r\n");
	my ($head) = substr($$buf, 0, $end);
	substr($$buf, 0, $end + 4, '');
	my ($request_line, @lines) = split /\r\n/, $head;
	my ($method, $path) = split / /, $request_line;
	my %headers = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @lines;
	my $length = $headers{'content-length'} || 0;
	while (length($$buf) < $length) {
		return unless $sel->can_read(30);
		my $n = sysread($client, $$buf, 65536, length $$buf);
		return unless $n;
	}
	my $body = substr($$buf, 0, $length);
	substr($$buf, 0, $length, '');
	return { method => $method, path => $path, headers => \%headers, body => $body };
}

sub wait_for_close {
	my ($client, $limit) = @_;
	my $sel = IO::Select->new($client);
	my $until = Time::HiRes::time() + $limit;
	while (Time::HiRes::time() < $until) {
		next unless $sel->can_read(0.05);
		my $n = sysread($client, my $junk, 65536);
		return unless $n;
	}
	return;
}

sub serve {
	my ($client, $responder, $logfile, $n, $conn) = @_;
	my $buf = '';
	while (my $req = read_request($client, \$buf)) {
		$req->{n} = ++$$n;
		$req->{conn} = $conn;
		$req->{json} = eval { $json->decode($req->{body}) } if length $req->{body};
		if (open my $fh, '>>', $logfile) {
			print $fh $json->encode({ map { $_ => $req->{$_} } qw(method path headers json n conn) }), "\n";
			close $fh;
		}
		my $answer = $responder->($req) || { status => 500, body => 'no answer scripted' };
		if ($answer->{hang}) {
			wait_for_close($client, 30);
			return;
		}
		return if $answer->{close};
		if (defined $answer->{trickle}) {
			for my $byte (split //, $answer->{trickle}) {
				return unless syswrite($client, $byte);
				Time::HiRes::sleep($answer->{every} || 0.05);
			}
			wait_for_close($client, 30);
			return;
		}
		my $raw = $answer->{raw};
		unless (defined $raw) {
			my $body = exists $answer->{json} ? $json->encode($answer->{json}) : defined $answer->{body} ? $answer->{body} : '';
			my %h = ('Content-Type' => exists $answer->{json} ? 'application/json' : 'text/plain', %{$answer->{headers} || {}});
			$raw = "HTTP/1.1 " . ($answer->{status} || 200) . " X\r\n"
				. join('', map { "$_: $h{$_}\r\n" } sort keys %h)
				. 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
		}
		syswrite($client, $raw);
		return if $answer->{close_after};
	}
	return;
}

1;

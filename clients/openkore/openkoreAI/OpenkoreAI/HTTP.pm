package OpenkoreAI::HTTP;

# A small HTTP/1.1 client for calls made from OpenKore's main loop. Every request is bounded
# by one deadline for the whole exchange (connect, write, every read), where HTTP::Tiny bounds
# each socket operation separately (a server that trickles bytes could hold it far longer).
# One connection is kept alive between calls: at ten calls a second, a new TCP connection per
# call would cost more than the call.
#
# Plain http only (the engine listens on loopback or a LAN address; TLS would need modules
# OpenKore does not ship). Give the host as an IP address: name resolution is not bounded.

use strict;
use warnings;
use Errno ();
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes ();

use constant MAX_HEADER_BYTES => 64 * 1024;
use constant READ_CHUNK       => 64 * 1024;

sub new {
	my ($class, %opts) = @_;
	return bless {
		agent    => defined $opts{agent} ? $opts{agent} : 'openkoreAI',
		max_body => $opts{max_body} || 4 * 1024 * 1024,
		sock     => undef,
		key      => '',
	}, $class;
}

sub parse_url {
	my ($url) = @_;
	return unless defined $url;
	my ($scheme, $host, $port, $path) = $url =~ m{^\s*(\w+)://\[?([^/\]:]+)\]?(?::(\d+))?(/[^\s]*)?\s*$};
	return unless defined $scheme && lc($scheme) eq 'http' && defined $host;
	$port = 80 unless defined $port;
	$path = '/' unless defined $path && length $path;
	$path =~ s{/+$}{};
	return ($host, $port, $path);
}

sub close {
	my ($self) = @_;
	if ($self->{sock}) {
		CORE::close($self->{sock});
	}
	$self->{sock} = undef;
	$self->{key} = '';
	return;
}

sub DESTROY { $_[0]->close }

# request($method, $url, headers => {...}, body => $bytes, deadline => $epoch_seconds)
# Returns {status, reason, headers => {lower-case name => value}, content}; a transport failure
# is status 599 with `error` ('timeout' when the deadline passed first, or the socket error).
sub request {
	my ($self, $method, $url, %opts) = @_;
	my ($host, $port, $base) = parse_url($url);
	return _failure("unsupported URL '" . (defined $url ? $url : '') . "' (http://host:port only)") unless defined $host;
	my $path = defined $opts{path} ? $base . $opts{path} : ($base eq '' ? '/' : $base);
	my $deadline = defined $opts{deadline} ? $opts{deadline} : Time::HiRes::time() + 5;
	my $key = "$host:$port";
	# Writing to a connection the server closed raises SIGPIPE, whose default action ends the
	# process: the write must fail with EPIPE instead. (Windows has no SIGPIPE.)
	local $SIG{PIPE} = 'IGNORE' if exists $SIG{PIPE};

	my $reused = 0;
	if ($self->{sock} && $self->{key} eq $key && $self->_idle_connection_usable) {
		$reused = 1;
	} else {
		$self->close;
		my $err = $self->_connect($host, $port, $deadline);
		return _failure($err) if $err;
		$self->{key} = $key;
	}

	my $request = $self->_build($method, $host, $port, $path, $opts{headers}, $opts{body});
	my $res = $self->_exchange($request, $method, $deadline);
	if ($res->{error} && $reused && $res->{untouched}) {
		# The server closed the kept-alive connection as it was reused, before answering anything:
		# the request is sent once more on a new connection. (Should the server have applied it
		# after all, the engine's state version refuses the second state update.)
		$self->close;
		my $err = $self->_connect($host, $port, $deadline);
		return _failure($err) if $err;
		$self->{key} = $key;
		$res = $self->_exchange($request, $method, $deadline);
	}
	if ($res->{error}) {
		# A late answer on this connection would be read as the next request's.
		$self->close;
		return _failure($res->{error});
	}
	$self->close if $res->{close};
	delete @$res{qw(close untouched)};
	return $res;
}

sub _failure {
	my ($error) = @_;
	return { status => 599, reason => 'Transport Error', headers => {}, content => '', error => $error };
}

sub _left {
	my ($deadline) = @_;
	return $deadline - Time::HiRes::time();
}

# A kept-alive connection is readable while idle only when the server closed it (or sent
# something unasked): either way it cannot carry the next request.
sub _idle_connection_usable {
	my ($self) = @_;
	my $sel = IO::Select->new($self->{sock});
	return !$sel->can_read(0);
}

sub _connect {
	my ($self, $host, $port, $deadline) = @_;
	my $left = _left($deadline);
	return 'timeout' if $left <= 0;
	# With Timeout, IO::Socket connects in non-blocking mode and waits at most that long.
	my $sock = IO::Socket::INET->new(
		PeerAddr => $host,
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => $left,
	);
	unless ($sock) {
		my $why = $@ || "$!";
		$why =~ s/^IO::Socket::INET: //;
		$why =~ s/\s+$//;
		return _left($deadline) <= 0 || $why =~ /timeout/i ? 'timeout' : "connect: $why";
	}
	$sock->blocking(0);
	binmode $sock;
	eval { setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1) };
	$self->{sock} = $sock;
	return;
}

sub _build {
	my ($self, $method, $host, $port, $path, $headers, $body) = @_;
	my $req = "$method $path HTTP/1.1\r\nHost: $host:$port\r\nUser-Agent: $self->{agent}\r\nConnection: keep-alive\r\n";
	if ($headers) {
		for my $name (sort keys %$headers) {
			my $value = $headers->{$name};
			next unless defined $value;
			$value =~ s/[\r\n]+/ /g;
			$req .= "$name: $value\r\n";
		}
	}
	if (defined $body) {
		utf8::encode($body) if utf8::is_utf8($body);
		$req .= 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
	} else {
		$req .= "\r\n";
	}
	return $req;
}

sub _exchange {
	my ($self, $request, $method, $deadline) = @_;
	my $sock = $self->{sock};
	my $sel = IO::Select->new($sock);

	my $off = 0;
	my $len = length $request;
	while ($off < $len) {
		my $left = _left($deadline);
		return { error => 'timeout' } if $left <= 0;
		next unless $sel->can_write($left);
		my $n = syswrite($sock, $request, $len - $off, $off);
		if (!defined $n) {
			next if $!{EINTR} || $!{EAGAIN} || $!{EWOULDBLOCK};
			return { error => "write: $!", untouched => $off == 0 };
		}
		$off += $n;
	}

	my $buf = '';
	my $got = 0;
	my $header_end;
	while (1) {
		$header_end = index($buf, "\r\n\r\n");
		if ($header_end >= 0) {
			# An interim 100 Continue precedes the real answer.
			if ($buf =~ /^HTTP\/1\.[01] 1\d\d\b/) {
				substr($buf, 0, $header_end + 4, '');
				next;
			}
			last;
		}
		return { error => 'answer headers too large' } if length($buf) > MAX_HEADER_BYTES;
		my $r = _fill($sock, $sel, \$buf, $deadline);
		return { error => $r->{error}, untouched => !$got && $r->{eof} } if $r->{error};
		$got = 1;
	}

	my $head = substr($buf, 0, $header_end);
	my $rest = substr($buf, $header_end + 4);
	my @lines = split /\r\n/, $head;
	my $status_line = shift @lines;
	my ($minor, $status, $reason) = $status_line =~ m{^HTTP/1\.([01]) (\d{3})(?: ([^\r\n]*))?$};
	return { error => 'not an HTTP answer' } unless defined $status;
	my %headers;
	for my $line (@lines) {
		my ($name, $value) = $line =~ /^([^:]+):\s*(.*?)\s*$/ or next;
		$name = lc $name;
		$headers{$name} = exists $headers{$name} ? "$headers{$name}, $value" : $value;
	}
	my $close = ($headers{connection} && $headers{connection} =~ /\bclose\b/i)
		|| ($minor eq '0' && !($headers{connection} && $headers{connection} =~ /keep-alive/i));

	my $content = '';
	if ($method eq 'HEAD' || $status == 204 || $status == 304) {
		# No body.
	} elsif ($headers{'transfer-encoding'} && $headers{'transfer-encoding'} =~ /chunked/i) {
		my $r = $self->_read_chunked($sock, $sel, \$rest, \$content, $deadline);
		return $r if $r->{error};
	} elsif (defined $headers{'content-length'}) {
		my $want = $headers{'content-length'};
		return { error => 'bad Content-Length' } unless $want =~ /^\d+$/;
		return { error => 'answer too large' } if $want > $self->{max_body};
		while (length($rest) < $want) {
			my $r = _fill($sock, $sel, \$rest, $deadline);
			return { error => $r->{eof} ? 'connection closed before the whole answer arrived' : $r->{error} } if $r->{error};
		}
		$content = substr($rest, 0, $want);
	} else {
		# The body ends with the connection.
		while (1) {
			my $r = _fill($sock, $sel, \$rest, $deadline);
			last if $r->{eof};
			return { error => $r->{error} } if $r->{error};
			return { error => 'answer too large' } if length($rest) > $self->{max_body};
		}
		$content = $rest;
		$close = 1;
	}
	return { status => $status + 0, reason => defined $reason ? $reason : '', headers => \%headers, content => $content, close => $close };
}

sub _read_chunked {
	my ($self, $sock, $sel, $rest, $content, $deadline) = @_;
	while (1) {
		my $eol;
		while (($eol = index($$rest, "\r\n")) < 0) {
			my $r = _fill($sock, $sel, $rest, $deadline);
			return { error => $r->{eof} ? 'connection closed inside a chunked answer' : $r->{error} } if $r->{error};
		}
		my ($size) = substr($$rest, 0, $eol) =~ /^([0-9a-fA-F]+)/;
		return { error => 'bad chunk size' } unless defined $size;
		$size = hex $size;
		substr($$rest, 0, $eol + 2, '');
		if ($size == 0) {
			# Trailers, then the final empty line.
			while (index($$rest, "\r\n") != 0 && index($$rest, "\r\n\r\n") < 0) {
				my $r = _fill($sock, $sel, $rest, $deadline);
				return { error => $r->{eof} ? 'connection closed inside a chunked answer' : $r->{error} } if $r->{error};
			}
			return {};
		}
		return { error => 'answer too large' } if length($$content) + $size > $self->{max_body};
		while (length($$rest) < $size + 2) {
			my $r = _fill($sock, $sel, $rest, $deadline);
			return { error => $r->{eof} ? 'connection closed inside a chunked answer' : $r->{error} } if $r->{error};
		}
		$$content .= substr($$rest, 0, $size);
		substr($$rest, 0, $size + 2, '');
	}
}

# Reads what is available, waiting at most until the deadline. {} on data, {eof => 1, error}
# when the peer closed, {error} otherwise.
sub _fill {
	my ($sock, $sel, $buf, $deadline) = @_;
	while (1) {
		my $left = _left($deadline);
		return { error => 'timeout' } if $left <= 0;
		next unless $sel->can_read($left);
		my $n = sysread($sock, $$buf, READ_CHUNK, length $$buf);
		if (!defined $n) {
			next if $!{EINTR} || $!{EAGAIN} || $!{EWOULDBLOCK};
			return { error => "read: $!", eof => ($!{ECONNRESET} ? 1 : 0) };
		}
		return { error => 'connection closed', eof => 1 } if $n == 0;
		return {};
	}
}

1;

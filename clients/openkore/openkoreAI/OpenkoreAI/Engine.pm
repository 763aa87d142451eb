package OpenkoreAI::Engine;

# The engine's HTTP protocol: JSON bodies, the bearer token, and every answer sorted into one
# of a few outcomes the plugin acts on. Nothing here dies: a body that cannot be encoded, a
# transport failure or an answer that is not what the engine sends all become outcomes.
#
# Outcome (a hash):
#   kind    'ok'        2xx with the engine's success envelope (data = its `data`), or a flat
#                       JSON object from the routes that answer without an envelope
#           'error'     the engine's error envelope (code, message, details) or any other
#                       non-2xx status (code HTTP_<status>)
#           'down'      no answer: connection refused, timeout, broken connection (error)
#           'malformed' 2xx whose body is not a JSON object of the expected shape
#   status  HTTP status (599 for 'down')
#   retry_after  seconds from a Retry-After header, when given

use strict;
use warnings;
use OpenkoreAI::HTTP;
use OpenkoreAI::JSON;

sub new {
	my ($class, %opts) = @_;
	return bless {
		http => OpenkoreAI::HTTP->new(agent => $opts{agent}),
	}, $class;
}

sub close { $_[0]{http}->close }

# call($method, $path, $body_or_undef, url => ..., token => ..., deadline => ...)
sub call {
	my ($self, $method, $path, $body, %opts) = @_;
	my %headers = (Accept => 'application/json');
	$headers{Authorization} = "Bearer $opts{token}" if defined $opts{token} && length $opts{token};
	my $content;
	if (defined $body) {
		$content = eval { OpenkoreAI::JSON::encode($body) };
		return { kind => 'invalid', status => 0, error => "could not encode the request: " . _first_line($@) } unless defined $content;
		$headers{'Content-Type'} = 'application/json';
	}
	my $res = $self->{http}->request($method, $opts{url}, path => $path, headers => \%headers, body => $content, deadline => $opts{deadline});
	return classify($res);
}

sub classify {
	my ($res) = @_;
	my $status = $res->{status};
	if ($status == 599) {
		return { kind => 'down', status => 599, error => $res->{error}, timeout => ($res->{error} || '') eq 'timeout' ? 1 : 0 };
	}
	my $retry_after;
	if (defined $res->{headers}{'retry-after'} && $res->{headers}{'retry-after'} =~ /^\s*(\d+(?:\.\d+)?)\s*$/) {
		$retry_after = $1 + 0;
	}
	my $doc;
	if (length $res->{content}) {
		$doc = eval { OpenkoreAI::JSON::decode($res->{content}) };
	}
	if ($status >= 200 && $status < 300) {
		if (ref $doc ne 'HASH') {
			my $what = !length $res->{content} ? 'an empty body' : defined $doc ? 'JSON that is not an object' : 'a body that is not JSON';
			return { kind => 'malformed', status => $status, error => "$status with $what" };
		}
		if (exists $doc->{status}) {
			if (defined $doc->{status} && !ref $doc->{status} && $doc->{status} eq 'success' && exists $doc->{data}) {
				return { kind => 'ok', status => $status, data => $doc->{data} };
			}
			return { kind => 'malformed', status => $status, error => "$status without a success envelope" };
		}
		return { kind => 'ok', status => $status, data => $doc };
	}
	if (ref $doc eq 'HASH' && ref $doc->{error} eq 'HASH' && defined $doc->{error}{code} && !ref $doc->{error}{code}) {
		my $e = $doc->{error};
		return {
			kind        => 'error',
			status      => $status,
			code        => $e->{code},
			message     => defined $e->{message} && !ref $e->{message} ? $e->{message} : '',
			details     => ref $e->{details} eq 'HASH' ? $e->{details} : {},
			retry_after => $retry_after,
		};
	}
	my $text = defined $res->{content} ? $res->{content} : '';
	$text =~ s/\s+/ /g;
	return {
		kind        => 'error',
		status      => $status,
		code        => "HTTP_$status",
		message     => length $text ? substr($text, 0, 160) : ($res->{reason} || ''),
		details     => {},
		retry_after => $retry_after,
	};
}

sub _first_line {
	my ($text) = @_;
	$text = '' unless defined $text;
	$text =~ s/\n.*//s;
	return $text;
}

1;

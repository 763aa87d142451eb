package Log;

# Test stand-in for OpenKore's Log: records every line (type, domain, text) and calls the
# hooks added with addHook the way the real module does.

use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(message warning error debug);

our @lines;
my @hooks;

sub emit {
	my ($type, $message, $domain, $level) = @_;
	$domain ||= 'console';
	push @lines, { type => $type, domain => $domain, text => $message };
	print STDERR "# [$type] $message" if $ENV{OKAI_SHOW_LOG} && $type ne 'debug';
	for my $hook (@hooks) {
		next unless $hook;
		$hook->{func}->($type, $domain, defined $level ? $level : 1, 1, $message, $hook->{user_data});
	}
	return;
}

sub message { emit('message', @_) }
sub warning { emit('warning', @_) }
sub error   { emit('error', @_) }
sub debug   { emit('debug', @_) }

sub addHook {
	my ($func, $user_data) = @_;
	push @hooks, { func => $func, user_data => $user_data };
	return $#hooks;
}

sub delHook {
	my ($id) = @_;
	delete $hooks[$id];
	return;
}

sub hookCount { return scalar grep { $_ } @hooks }

sub clear { @lines = () }

# Lines whose text matches, optionally of one type.
sub matching {
	my ($re, $type) = @_;
	return grep { $_->{text} =~ $re && (!defined $type || $_->{type} eq $type) } @lines;
}

1;

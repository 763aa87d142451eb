package AI;

# Test stand-in for OpenKore's AI queue functions, over Globals' @ai_seq / @ai_seq_args.

use strict;
use warnings;
use Globals qw(@ai_seq @ai_seq_args);

use constant { OFF => 0, MANUAL => 1, AUTO => 2 };

my $state = AUTO;

sub state {
	$state = $_[0] if defined $_[0];
	return $state;
}

sub action { return $ai_seq[defined $_[0] ? $_[0] : 0] }
sub args { return $ai_seq_args[defined $_[0] ? $_[0] : 0] ||= {} }

sub queue {
	my ($action, $args) = @_;
	unshift @ai_seq, $action;
	unshift @ai_seq_args, defined $args ? $args : {};
	return;
}

sub dequeue {
	shift @ai_seq;
	shift @ai_seq_args;
	return;
}

sub clear {
	if (!@_) {
		@ai_seq = ();
		@ai_seq_args = ();
		return;
	}
	my %gone = map { $_ => 1 } @_;
	my @keep = grep { !$gone{$ai_seq[$_]} } 0 .. $#ai_seq;
	@ai_seq_args = @ai_seq_args[@keep];
	@ai_seq = @ai_seq[@keep];
	return;
}

sub findAction {
	my ($wanted) = @_;
	for my $i (0 .. $#ai_seq) {
		return $i if $ai_seq[$i] eq $wanted;
	}
	return undef;
}

sub inQueue {
	for my $wanted (@_) {
		return 1 if grep { $_ eq $wanted } @ai_seq;
	}
	return 0;
}

sub is {
	return 0 unless @ai_seq;
	for my $wanted (@_) {
		return 1 if $ai_seq[0] eq $wanted;
	}
	return 0;
}

sub isIdle { return !@ai_seq || $ai_seq[0] eq '' }

1;

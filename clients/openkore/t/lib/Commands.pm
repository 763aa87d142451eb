package Commands;

# Test stand-in for OpenKore's Commands: registered commands run their handler; every other
# command is recorded in @ran (and handed to $world, which plays the game's side of it).

use strict;
use warnings;

our @ran;
our %commands;
our $world;

sub run {
	my ($input) = @_;
	$input =~ s/^\s+|\s+$//g;
	for my $command (split /;;/, $input) {
		my ($switch, $args) = split / +/, $command, 2;
		if (my $registered = $commands{$switch}) {
			$registered->{callback}->($switch, $args);
			next;
		}
		push @ran, $command;
		$world->($command) if $world;
	}
	return 1;
}

sub register {
	my @names;
	for my $cmd (@_) {
		$commands{$cmd->[0]} = { description => $cmd->[1], callback => $cmd->[2] };
		push @names, $cmd->[0];
	}
	return \@names;
}

sub unregister {
	my ($id) = @_;
	delete $commands{$_} for @$id;
	return;
}

1;

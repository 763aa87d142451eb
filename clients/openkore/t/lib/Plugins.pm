package Plugins;

# Test stand-in for OpenKore's Plugins module: the calls openkoreAI makes, with the real
# calling convention (callback->($hookName, $args, $userData), no eval around callbacks, so a
# die in a hook reaches the test as it would reach OpenKore's error handler).

use strict;
use warnings;

our $current_plugin;
our $current_plugin_folder;
our %hooks;
our %plugins;
my $next_id = 0;

sub register {
	my ($name, $description, $unload, $reload) = @_;
	return 0 if $plugins{lc $name};
	$plugins{lc $name} = { name => $name, description => $description, unload => $unload, reload => $reload, file => $current_plugin };
	return 1;
}

sub registered { return exists $plugins{lc $_[0]} }

sub addHook {
	my ($name, $callback, $user_data) = @_;
	my $handle = bless { name => $name, id => ++$next_id }, 'Plugins::HookHandle';
	push @{$hooks{$name}}, { callback => $callback, user_data => $user_data, handle => $handle };
	return $handle;
}

sub addHooks {
	my @handles = map { addHook(@$_) } @_;
	return bless { handles => \@handles }, 'Plugins::HookHandles';
}

sub delHook {
	my ($handle) = @_;
	die "ArgumentException: not a hook handle\n" unless ref $handle && ($handle->isa('Plugins::HookHandle') || $handle->isa('Plugins::HookHandles'));
	for my $one ($handle->isa('Plugins::HookHandles') ? @{$handle->{handles}} : $handle) {
		$hooks{$one->{name}} = [grep { $_->{handle} != $one } @{$hooks{$one->{name}} || []}];
	}
	return;
}
*delHooks = \&delHook;

sub callHook {
	my ($name, $args) = @_;
	for my $hook (@{[@{$hooks{$name} || []}]}) {
		$hook->{callback}->($name, $args, $hook->{user_data});
	}
	return;
}

sub hasHook { return scalar @{$hooks{$_[0]} || []} }

sub hookCount {
	my $n = 0;
	$n += @{$hooks{$_}} for keys %hooks;
	return $n;
}

# Plugins::load: `do` the file with current_plugin(_folder) set; a load failure dies.
sub load {
	my ($file) = @_;
	local $current_plugin = $file;
	local $current_plugin_folder = $file =~ m{^(.*)[/\\]} ? $1 : '.';
	my $result = do $file;
	die "plugin $file failed to load: " . ($@ || $! || 'returned false') . "\n" unless $result;
	return 1;
}

sub unload {
	my ($name) = @_;
	my $plugin = delete $plugins{lc $name} or return 0;
	$plugin->{unload}->() if $plugin->{unload};
	return 1;
}

1;

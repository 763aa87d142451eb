package Misc;

# Test stand-in for OpenKore's Misc: configModify sets %config, fires the same hooks and
# records the call (the real one also rewrites config.txt).

use strict;
use warnings;
use Globals qw(%config);
use Plugins;

our @modified;

sub configModify {
	my ($key, $value) = @_;
	Plugins::callHook('configModify', { key => $key, val => $value, bulk => 0 });
	push @modified, [$key, $value];
	$config{$key} = $value;
	Plugins::callHook('post_configModify', { key => $key, bulk => 0 });
	return;
}

1;

# openkoreAI: lets openkore-ai-engine drive an OpenKore bot through the engine's own protocol
# (session, versioned game state, actions and macro commands delivered, action feedback,
# memories).
#
# Install: copy this folder to OpenKore's plugins/ (plugins/openkoreAI/openkoreAI.pl with its
# OpenkoreAI/ modules beside it) and add openkoreAI to loadPlugins_list in control/sys.txt.
# Settings (control/config.txt, all optional): openkoreAI, openkoreAI_url, openkoreAI_token,
# openkoreAI_tick, openkoreAI_timeout, openkoreAI_retry, openkoreAI_retryMax,
# openkoreAI_takeover, openkoreAI_repeat, openkoreAI_poll, openkoreAI_memories,
# openkoreAI_rareItems. Console: oai [status|on|off|last|session|help].
#
# This program is free software; you can redistribute it and/or modify it under the terms of
# the GNU General Public License, version 2, as published by the Free Software Foundation
# (see LICENSE).

package openkoreAI;

use strict;
use warnings;
use lib $Plugins::current_plugin_folder;
use Plugins;
use Log qw(error);

our $plugin;

# A reload must compile the modules again, not keep the copies Perl already holds.
my $loaded = eval {
	local $SIG{__WARN__} = sub { warn @_ unless $_[0] =~ /^Subroutine \S+ redefined/ };
	delete $INC{$_} for grep { m{^OpenkoreAI/} } keys %INC;
	require OpenkoreAI::Plugin;
	1;
};

if ($loaded) {
	# Reloaded without an unload: the old hooks go before the new ones come.
	eval { $plugin->uninstall; 1 } if $plugin;
	$plugin = OpenkoreAI::Plugin->new;
	my $unload = sub {
		eval { $plugin->uninstall; 1 } if $plugin;
		undef $plugin;
		return;
	};
	Plugins::register('openkoreAI', 'openkore-ai-engine drives the bot (oai for status)', $unload, $unload);
	$plugin->install;
} else {
	# A plugin that cannot load must not stop OpenKore: it runs on without it.
	my $why = defined $@ ? $@ : 'unknown error';
	error("[openkoreAI] not loaded: $why\n");
}

1;

package OpenkoreAI::Actions;

# Turns an engine action ({type, params}) into the OpenKore console command that performs it,
# resolving the game ids the engine speaks (monster and player server ids, item ids, skill
# ids) into what the commands take (list indexes, skill handles). A macro's action carries the
# console command it came from (`params.command`) and runs as written, as eventMacro's `do`
# would run it.
#
# translate() returns one of
#   { command => 'a 3', kind => 'attack', target => <binary ID> }   run it
#   { fail => 'target_not_found', message => '...' }                cannot be done here
#   { none => 1 }                                                   nothing to do (NO_ACTION)

use strict;
use warnings;
use Globals qw($char $monstersList $playersList);
use OpenkoreAI::GameState;

sub fail {
	my ($code, $message) = @_;
	return { fail => $code, message => $message };
}

# Both return undef, not an empty list, for a missing or unusable value: they are called in
# lists (f(id => int_param(...), name => name_param(...))) where an empty list would shift
# the arguments that follow.
sub int_param {
	my ($v) = @_;
	return undef unless defined $v && !ref $v && $v =~ /^\s*(\d{1,9})\s*$/;    ## no critic (ProhibitExplicitReturnUndef)
	return $1 + 0;
}

# A name to put inside a command: one line, no command separator.
sub name_param {
	my ($v) = @_;
	return undef unless defined $v && !ref $v;    ## no critic (ProhibitExplicitReturnUndef)
	$v = "$v";
	$v =~ s/^\s+|\s+$//g;
	return undef if $v eq '' || $v =~ /[\x00-\x1f]|;;/;    ## no critic (ProhibitExplicitReturnUndef)
	return $v;
}

sub quoted {
	my ($name) = @_;
	return $name =~ /\s/ ? qq{"$name"} : $name;
}

# A monster or player in sight, by server id (what the engine was sent) or by list index.
sub find_actor {
	my ($list, $server_id, $index) = @_;
	for my $actor (OpenkoreAI::GameState::actors($list)) {
		next if $actor->{dead};
		if (defined $server_id) {
			my $id = OpenkoreAI::GameState::server_id($actor);
			return $actor if defined $id && $id == $server_id;
		} elsif (defined $index) {
			return $actor if defined $actor->{binID} && $actor->{binID} == $index;
		}
	}
	return;
}

sub find_item {
	my (%by) = @_;
	my @items = grep { !defined $_->{amount} || $_->{amount} > 0 } OpenkoreAI::GameState::inventory_items();
	if (defined $by{id}) {
		for my $item (@items) {
			return $item if defined $item->{nameID} && $item->{nameID} == $by{id};
		}
	}
	if (defined $by{name}) {
		for my $item (@items) {
			return $item if defined $item->{name} && lc $item->{name} eq lc $by{name};
		}
	}
	return;
}

sub skill_handle {
	my ($p) = @_;
	my $skills = $char && ref $char->{skills} eq 'HASH' ? $char->{skills} : {};
	my $id = int_param($p->{skill_id});
	if (defined $id) {
		for my $handle (keys %$skills) {
			return $handle if ref $skills->{$handle} && defined $skills->{$handle}{ID} && $skills->{$handle}{ID} == $id;
		}
		return;
	}
	my $name = name_param(defined $p->{skill} ? $p->{skill} : $p->{skill_name});
	return unless defined $name;
	return $name if exists $skills->{$name};
	for my $handle (keys %$skills) {
		return $handle if lc $handle eq lc $name;
	}
	# A skill name or id OpenKore resolves itself.
	return quoted($name);
}

sub translate {
	my ($type, $params, %opts) = @_;
	$params = {} unless ref $params eq 'HASH';
	$type = defined $type && !ref $type ? uc $type : '';
	$type = '' unless $type =~ /^[A-Z_]{1,32}$/;

	if ($opts{macro} || $type eq 'SEND_COMMAND' || !__PACKAGE__->can("action_$type")) {
		my $command = $params->{command};
		if (defined $command && !ref $command) {
			$command =~ s/[\r\n]+/ /g;
			$command =~ s/^\s+|\s+$//g;
			return { command => $command, kind => 'command' } if length $command;
		}
	}
	return { none => 1 } if $type eq 'NO_ACTION';
	my $handler = __PACKAGE__->can("action_$type");
	return fail('unsupported_action', "no console command for action type '$type'") unless $handler;
	return $handler->($params);
}

sub target_of {
	my ($list, $p, $what) = @_;
	my $id = int_param($p->{target_id});
	my $index = int_param($p->{target_index});
	return (undef, fail('bad_params', "$what needs target_id or target_index")) unless defined $id || defined $index;
	my $actor = find_actor($list, $id, $index);
	return (undef, fail('target_not_found', "$what " . (defined $id ? "id $id" : "#$index") . ' is not in sight')) unless $actor && defined $actor->{binID};
	return ($actor);
}

sub action_ATTACK {
	my ($p) = @_;
	my ($m, $failure) = target_of($monstersList, $p, 'monster');
	return $failure if $failure;
	return { command => "a $m->{binID}", kind => 'attack', target => $m->{ID} };
}

sub action_MOVE_TO {
	my ($p) = @_;
	my ($x, $y) = (int_param($p->{x}), int_param($p->{y}));
	my $map = name_param($p->{map});
	return fail('bad_params', 'the map name is not one') if defined $p->{map} && !(defined $map && $map =~ /^[\w@.\-]+$/);
	my $here = OpenkoreAI::GameState::map_name();
	if (defined $x && defined $y) {
		my $elsewhere = defined $map && lc $map ne lc $here;
		return { command => "move $x $y" . ($elsewhere ? " $map" : ''), kind => 'move', move => { map => $elsewhere ? $map : $here, x => $x, y => $y } };
	}
	return { command => "move $map", kind => 'move', move => { map => $map } } if defined $map;
	return fail('bad_params', 'MOVE_TO needs x and y, or a map');
}

sub action_USE_ITEM {
	my ($p) = @_;
	my $id = int_param($p->{item_id});
	my $name = name_param(defined $p->{item_name} ? $p->{item_name} : $p->{item});
	return fail('bad_params', 'USE_ITEM needs item_id or item_name') unless defined $id || defined $name;
	my $item = find_item(id => $id, name => $name);
	return fail('item_not_found', 'no ' . (defined $name ? $name : "item $id") . ' in the inventory') unless $item && defined $item->{binID};
	return { command => "is $item->{binID}", kind => 'item' };
}

sub action_USE_SKILL {
	my ($p) = @_;
	my $handle = skill_handle($p);
	return fail('skill_not_learned', 'skill ' . (defined $p->{skill_id} ? "id $p->{skill_id}" : 'without a name') . ' is not learned') unless defined $handle;
	my $level = int_param($p->{level});
	my $lv = defined $level && $level > 0 ? " $level" : '';
	my $target = lc(defined $p->{target_type} && !ref $p->{target_type} ? $p->{target_type} : 'self');
	if ($target eq 'monster' || $target eq 'player') {
		my ($actor, $failure) = target_of($target eq 'monster' ? $monstersList : $playersList, $p, $target);
		return $failure if $failure;
		return { command => ($target eq 'monster' ? 'sm' : 'sp') . " $handle $actor->{binID}$lv", kind => 'skill' };
	}
	if ($target eq 'location' || $target eq 'ground') {
		my ($x, $y) = (int_param($p->{x}), int_param($p->{y}));
		($x, $y) = OpenkoreAI::GameState::coords($char) unless defined $x && defined $y;
		return fail('bad_params', 'a skill on a location needs x and y') unless defined $x;
		return { command => "sl $handle $x $y$lv", kind => 'skill' };
	}
	return { command => "ss $handle$lv", kind => 'skill' };
}

sub action_TELEPORT {
	my ($p) = @_;
	my $method = lc(defined $p->{method} && !ref $p->{method} ? $p->{method} : 'any');
	if ($method eq 'item') {
		my $item = find_item(id => int_param($p->{item_id}), name => name_param($p->{item_name}));
		return { command => "is $item->{binID}", kind => 'teleport' } if $item && defined $item->{binID};
		# The wing is gone: OpenKore's own teleport picks a skill or another item.
	}
	return { command => 'respawn', kind => 'teleport' } if $method eq 'respawn';
	return { command => 'tele', kind => 'teleport' };
}

sub action_SIT   { return { command => 'sit', kind => 'sit' } }
sub action_STAND { return { command => 'stand', kind => 'stand' } }

sub action_CHANGE_STATE {
	my ($p) = @_;
	my $state = lc(defined $p->{state} && !ref $p->{state} ? $p->{state} : '');
	return { command => 'respawn', kind => 'respawn' } if $state eq 'respawn';
	return { command => $state, kind => $state } if $state eq 'sit' || $state eq 'stand';
	my $ai = lc(defined $p->{ai} && !ref $p->{ai} ? $p->{ai} : '');
	$ai = 'on' if $ai eq 'auto';
	return { command => "ai $ai", kind => 'ai' } if $ai =~ /^(?:on|off|manual)$/;
	return fail('unsupported_action', 'CHANGE_STATE needs state "respawn" or ai on/off/manual');
}

sub action_PICK_ITEM {
	my ($p) = @_;
	my $index = int_param($p->{item_index});
	return fail('bad_params', 'PICK_ITEM needs item_index') unless defined $index;
	return { command => "take $index", kind => 'take' };
}

sub action_TALK_NPC {
	my ($p) = @_;
	my $index = int_param($p->{npc_index});
	return { command => "talk $index", kind => 'talk' } if defined $index;
	my ($x, $y) = (int_param($p->{x}), int_param($p->{y}));
	return fail('bad_params', 'TALK_NPC needs npc_index, or x and y') unless defined $x && defined $y;
	my $seq = name_param($p->{sequence});
	return { command => "talknpc $x $y" . (defined $seq ? " $seq" : ''), kind => 'talk' };
}

sub storage {
	my ($verb, $p) = @_;
	my $item = name_param(defined $p->{item} ? $p->{item} : $p->{item_name});
	return unless defined $item;
	my $amount = int_param($p->{amount});
	return { command => "storage $verb $item" . (defined $amount ? " $amount" : ''), kind => 'storage' };
}

sub action_STORAGE_PUT {
	my ($p) = @_;
	# Without an item: OpenKore's auto-storage, which walks to storage and stores by items_control.
	return storage('add', $p) || { command => 'autostorage', kind => 'storage' };
}

sub action_STORAGE_GET {
	my ($p) = @_;
	return storage('get', $p) || fail('bad_params', 'STORAGE_GET needs an item');
}

sub action_SEND_COMMAND {
	my ($p) = @_;
	my $message = name_param($p->{message});
	return fail('bad_params', 'SEND_COMMAND needs command or message') unless defined $message;
	my $channel = lc(defined $p->{channel} && !ref $p->{channel} ? $p->{channel} : 'public');
	return { command => "c $message", kind => 'chat' } if $channel eq 'public';
	return { command => "p $message", kind => 'chat' } if $channel eq 'party';
	return { command => "g $message", kind => 'chat' } if $channel eq 'guild';
	if ($channel eq 'whisper' || $channel eq 'pm') {
		my $to = name_param($p->{to});
		return fail('bad_params', 'a whisper needs "to"') unless defined $to && $to !~ /"/;
		return { command => qq{pm "$to" $message}, kind => 'chat' };
	}
	return fail('bad_params', "unknown chat channel '$channel'");
}

sub action_EXECUTE_MACRO {
	my ($p) = @_;
	my $name = name_param(defined $p->{macro} ? $p->{macro} : defined $p->{macro_name} ? $p->{macro_name} : $p->{name});
	return fail('bad_params', 'EXECUTE_MACRO needs a macro name') unless defined $name && $name =~ /^[\w.\-]+$/;
	# The bot's own eventMacro runs it.
	return { command => "eventMacro $name", kind => 'macro' };
}

1;

package OpenkoreAI::GameState;

# The game state the engine's POST /api/v1/state takes, built from OpenKore's globals. Every
# number is sent as a JSON number within the engine's bounds and every text is cut to the
# engine's lengths, so a state is never refused for what OpenKore happens to hold (a monster
# name of 70 characters, a level still 0 while logging in, a field that failed to load).
#
# Ids are the game's own: monsters and players by their server id (unpack 'V' of the 4-byte
# ID, stable while the actor is in sight, unlike OpenKore's list index), items by item id
# (nameID), skills by skill id. The engine answers with these ids; OpenkoreAI::Actions turns
# them back into what the console commands take.

use strict;
use warnings;
use Globals qw($char $field $monstersList $playersList %jobs_lut);
use OpenkoreAI::JSON;
use Time::HiRes ();

use constant {
	MAX_HP       => 100_000_000,
	MAX_COORD    => 100_000,
	MAX_MONSTERS => 64,
	MAX_PLAYERS  => 64,
	MAX_ITEMS    => 200,
	MAX_SKILLS   => 256,
	MAX_PARTY    => 64,
	MAX_STATUSES => 64,
};

sub num {
	my ($v, $min, $max) = @_;
	$v = (defined $v && !ref $v && $v =~ /^\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*$/) ? int($v) : 0;
	$v = $min if defined $min && $v < $min;
	$v = $max if defined $max && $v > $max;
	return $v + 0;
}

sub text {
	my ($v, $max) = @_;
	return '' unless defined $v && !ref $v;
	$v = "$v";
	$v =~ s/[\x00-\x1f\x7f]//g;
	return length($v) > $max ? substr($v, 0, $max) : $v;
}

sub map_name {
	return 'unknown' unless $field;
	my $name = eval { $field->baseName };
	$name = eval { $field->name } unless defined $name && length $name;
	$name = text($name, 64);
	return length $name ? $name : 'unknown';
}

sub coords {
	my ($actor) = @_;
	return unless ref $actor;
	for my $key (qw(pos_to pos)) {
		my $p = $actor->{$key};
		return (num($p->{x}, 0, MAX_COORD), num($p->{y}, 0, MAX_COORD)) if ref $p eq 'HASH' && defined $p->{x} && defined $p->{y};
	}
	return;
}

# The server id of an actor as a number (its ID is 4 packed bytes), or undef.
sub server_id {
	my ($actor) = @_;
	my $id = ref $actor ? $actor->{ID} : undef;
	return unless defined $id && length($id) == 4;
	return unpack('V', $id);
}

sub actors {
	my ($list) = @_;
	return () unless $list;
	my $items = eval { $list->getItems };
	return () unless ref $items eq 'ARRAY';
	return grep { ref $_ } @$items;
}

sub distance_between {
	my ($x1, $y1, $x2, $y2) = @_;
	my $d = sqrt(($x1 - $x2) ** 2 + ($y1 - $y2) ** 2);
	return int($d * 100 + 0.5) / 100;
}

sub inventory_items {
	return () unless $char && eval { $char->can('inventory') };
	my $inv = eval { $char->inventory };
	return () unless $inv;
	my $items = eval { $inv->getItems };
	return () unless ref $items eq 'ARRAY';
	return grep { ref $_ } @$items;
}

# The whole state, or undef while there is no character with a name yet.
sub build {
	return unless $char && defined $char->{name} && length text($char->{name}, 64);
	my $map = map_name();
	my ($cx, $cy) = coords($char);
	($cx, $cy) = (0, 0) unless defined $cx;

	my %character = (
		name       => text($char->{name}, 64),
		level      => num($char->{lv}, 1, 1000),
		job_level  => num($char->{lv_job}, 0, 1000),
		hp         => num($char->{hp}, 0, MAX_HP),
		max_hp     => num($char->{hp_max}, 1, MAX_HP),
		sp         => num($char->{sp}, 0, MAX_HP),
		max_sp     => num($char->{sp_max}, 0, MAX_HP),
		position   => { map => $map, x => $cx, y => $cy },
		weight     => num($char->{weight}, 0, MAX_HP),
		max_weight => num($char->{weight_max}, 0, MAX_HP),
		zeny       => num($char->{zeny}, 0, 9_000_000_000_000),
		is_sitting => OpenkoreAI::JSON::bool($char->{sitting}),
		is_dead    => OpenkoreAI::JSON::bool($char->{dead}),
	);
	if (defined $char->{jobID} && defined $jobs_lut{$char->{jobID}}) {
		$character{job_class} = text($jobs_lut{$char->{jobID}}, 64);
	}
	if (ref $char->{statuses} eq 'HASH') {
		my @statuses = map { text($_, 256) } sort keys %{$char->{statuses}};
		splice(@statuses, MAX_STATUSES) if @statuses > MAX_STATUSES;
		$character{status_effects} = \@statuses;
	}

	my @monsters;
	for my $m (actors($monstersList)) {
		next if $m->{dead};
		my $id = server_id($m);
		next unless defined $id;
		my ($x, $y) = coords($m);
		my $attacking = ($m->{dmgToYou} || $m->{missedYou}) ? 1 : 0;
		my %mon = (
			id              => $id + 0,
			name            => text($m->{name}, 64),
			is_attacking_me => OpenkoreAI::JSON::bool($attacking),
			is_aggressive   => OpenkoreAI::JSON::bool($attacking || $m->{castOnToYou}),
		);
		if (defined $x) {
			$mon{position} = { map => $map, x => $x, y => $y };
			$mon{distance} = distance_between($cx, $cy, $x, $y);
		}
		push @monsters, \%mon;
	}
	@monsters = sort { (defined $a->{distance} ? $a->{distance} : 1e9) <=> (defined $b->{distance} ? $b->{distance} : 1e9) } @monsters;
	splice(@monsters, MAX_MONSTERS) if @monsters > MAX_MONSTERS;

	my @players;
	for my $p (actors($playersList)) {
		my $id = server_id($p);
		next unless defined $id;
		my ($x, $y) = coords($p);
		my %pl = (id => $id + 0, name => text($p->{name}, 64), level => num($p->{lv}, 0, 1000));
		$pl{distance} = distance_between($cx, $cy, $x, $y) if defined $x;
		push @players, \%pl;
	}
	@players = sort { (defined $a->{distance} ? $a->{distance} : 1e9) <=> (defined $b->{distance} ? $b->{distance} : 1e9) } @players;
	splice(@players, MAX_PLAYERS) if @players > MAX_PLAYERS;

	my @inventory;
	for my $item (inventory_items()) {
		next unless defined $item->{nameID};
		push @inventory, {
			id     => num($item->{nameID}, 0, 9_000_000_000_000),
			name   => text($item->{name}, 64),
			amount => num(defined $item->{amount} ? $item->{amount} : 1, 0, 1_000_000),
			type   => text(defined $item->{type} ? $item->{type} : '', 32),
		};
		last if @inventory >= MAX_ITEMS;
	}

	my @skills;
	if (ref $char->{skills} eq 'HASH') {
		for my $handle (sort keys %{$char->{skills}}) {
			my $s = $char->{skills}{$handle};
			next unless ref $s eq 'HASH' && defined $s->{ID} && num($s->{lv}) > 0;
			push @skills, { id => num($s->{ID}, 0), name => text($handle, 64), level => num($s->{lv}, 0, 100), sp_cost => num($s->{sp}, 0, 100_000) };
			last if @skills >= MAX_SKILLS;
		}
	}

	my @party;
	if (ref $char->{party} eq 'HASH' && ref $char->{party}{users} eq 'HASH') {
		for my $key (sort keys %{$char->{party}{users}}) {
			my $u = $char->{party}{users}{$key};
			next unless ref $u && length text($u->{name}, 64);
			my %member = (name => text($u->{name}, 64), online => OpenkoreAI::JSON::bool($u->{online}));
			$member{id} = unpack('V', $key) + 0 if length($key) == 4;
			$member{hp} = num($u->{hp}, 0, MAX_HP) if defined $u->{hp};
			$member{max_hp} = num($u->{hp_max}, 0, MAX_HP) if defined $u->{hp_max};
			push @party, \%member;
			last if @party >= MAX_PARTY;
		}
	}

	return {
		character      => \%character,
		monsters       => \@monsters,
		nearby_players => \@players,
		inventory      => \@inventory,
		skills         => \@skills,
		party_members  => \@party,
		timestamp_ms   => int(Time::HiRes::time() * 1000),
	};
}

1;

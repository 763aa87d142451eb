package OAITest::World;

# A small game around the plugin: OpenKore's globals filled with a character, monsters,
# players and an inventory, and a `play` that answers the console commands the plugin issues
# the way the game would (sit sits, `a N` queues an attack, `is N` spends the item, `move`
# starts a route...). Tests drive it through the hooks, as OpenKore does.

use strict;
use warnings;
use Cwd ();
use File::Basename ();
use File::Spec;
use Globals;
use Plugins;
use Commands;
use Log ();
use AI ();
use Network ();
use Misc ();

our $PLUGIN_FILE = Cwd::abs_path(File::Spec->catfile(File::Basename::dirname(__FILE__), '..', '..', '..', 'openkoreAI', 'openkoreAI.pl'));
our @died;

sub reset_globals {
	%config = ();
	$char = undef;
	$field = undef;
	$net = undef;
	$monstersList = OAITest::List->new;
	$playersList = OAITest::List->new;
	@ai_seq = ();
	@ai_seq_args = ();
	@Commands::ran = ();
	$Commands::world = undef;
	@Misc::modified = ();
	@died = ();
	Log::clear();
	return;
}

# new(name => 'Hero', hp => 80, hp_max => 100, monsters => [...], inventory => [...], ...)
sub new {
	my ($class, %o) = @_;
	reset_globals();
	my $self = bless { next_bin => 0, next_item => 0, play => exists $o{play} ? $o{play} : 1 }, $class;
	$net = OAITest::Net->new;
	$field = OAITest::Field->new(defined $o{map} ? $o{map} : 'prt_fild08');
	$char = bless {
		name       => defined $o{name} ? $o{name} : 'Hero',
		lv         => defined $o{lv} ? $o{lv} : 20,
		lv_job     => defined $o{lv_job} ? $o{lv_job} : 10,
		hp         => defined $o{hp} ? $o{hp} : 400,
		hp_max     => defined $o{hp_max} ? $o{hp_max} : 400,
		sp         => defined $o{sp} ? $o{sp} : 60,
		sp_max     => defined $o{sp_max} ? $o{sp_max} : 60,
		pos        => { x => defined $o{x} ? $o{x} : 100, y => defined $o{y} ? $o{y} : 100 },
		pos_to     => { x => defined $o{x} ? $o{x} : 100, y => defined $o{y} ? $o{y} : 100 },
		weight     => 100,
		weight_max => 1000,
		zeny       => 1234,
		jobID      => defined $o{jobID} ? $o{jobID} : 1,
		sitting    => 0,
		dead       => 0,
		skills     => $o{skills} || { NV_BASIC => { ID => 1, lv => 9, sp => 0 } },
		statuses   => {},
		party      => {},
		_inventory => OAITest::Inventory->new,
	}, 'OAITest::Char';
	$self->add_monster(%$_) for @{$o{monsters} || []};
	$self->add_item(%$_) for @{$o{inventory} || []};
	$self->add_player(%$_) for @{$o{players} || []};
	$Commands::world = sub { $self->play(@_) } if $self->{play};
	return $self;
}

sub add_monster {
	my ($self, %m) = @_;
	my $monster = bless {
		ID        => pack('V', $m{id}),
		binID     => defined $m{binID} ? $m{binID} : $self->{next_bin}++,
		name      => $m{name} || 'Poring',
		pos       => { x => $m{x}, y => $m{y} },
		pos_to    => { x => $m{x}, y => $m{y} },
		dmgToYou  => $m{attacking} ? 25 : 0,
		missedYou => 0,
	}, 'Actor::Monster';
	$monstersList->add($monster);
	return $monster;
}

sub remove_monster {
	my ($self, $id) = @_;
	$monstersList->remove(sub { unpack('V', $_[0]{ID}) == $id });
	return;
}

sub add_player {
	my ($self, %p) = @_;
	my $player = bless {
		ID     => pack('V', $p{id}),
		binID  => $playersList->size,
		name   => $p{name} || 'Someone',
		lv     => $p{lv} || 50,
		pos_to => { x => $p{x}, y => $p{y} },
	}, 'Actor::Player';
	$playersList->add($player);
	return $player;
}

sub add_item {
	my ($self, %i) = @_;
	my $item = bless {
		binID  => $self->{next_item}++,
		nameID => $i{id},
		name   => $i{name},
		amount => defined $i{amount} ? $i{amount} : 1,
		type   => defined $i{type} ? $i{type} : 0,
	}, 'Actor::Item';
	$char->{_inventory}->add($item);
	return $item;
}

# The game's side of a console command.
sub play {
	my ($self, $command) = @_;
	if ($command eq 'sit') {
		$char->{sitting} = 1;
	} elsif ($command eq 'stand') {
		$char->{sitting} = 0;
	} elsif ($command =~ /^a (\d+)$/) {
		my ($monster) = grep { $_->{binID} == $1 } @{$monstersList->getItems};
		return Log::error("Error in function 'a' (Attack Monster)\nMonster $1 does not exist.\n") unless $monster;
		AI::queue('attack', { ID => $monster->{ID} });
	} elsif ($command =~ /^move (\d+) (\d+)/) {
		AI::clear('move', 'route', 'mapRoute');
		AI::queue('route', { x => $1, y => $2 });
		$self->{walking_to} = [$1, $2];
	} elsif ($command =~ /^is (\d+)$/) {
		my ($item) = grep { $_->{binID} == $1 } @{$char->inventory->getItems};
		return Log::error("Error in function 'is' (Use Item on Yourself)\nInventory Item $1 does not exist.\n") unless $item;
		$item->{amount}--;
		$char->inventory->remove($item) if $item->{amount} <= 0;
		if ($item->{name} =~ /potion/i) {
			$char->{hp} += int($char->{hp_max} / 2);
			$char->{hp} = $char->{hp_max} if $char->{hp} > $char->{hp_max};
		} elsif ($item->{name} =~ /wing/i) {
			$self->teleport;
		}
	} elsif ($command eq 'tele') {
		$self->teleport;
	} elsif ($command eq 'respawn') {
		@$char{qw(dead hp)} = (0, $char->{hp_max});
	}
	return;
}

sub teleport {
	my ($self) = @_;
	$char->{pos_to} = { x => 20 + int(rand(200)), y => 20 + int(rand(200)) };
	$char->{pos} = { %{$char->{pos_to}} };
	$monstersList->clear;
	AI::clear('attack', 'route', 'move');
	return;
}

# One step of the game: a route walks one cell closer, an attack hurts its target until it
# is gone (a kill), monsters attacking the character hurt it.
sub advance {
	my ($self) = @_;
	if (my $to = $self->{walking_to}) {
		my $p = $char->{pos_to};
		$p->{x} += $to->[0] <=> $p->{x};
		$p->{y} += $to->[1] <=> $p->{y};
		$char->{pos} = { %$p };
		if ($p->{x} == $to->[0] && $p->{y} == $to->[1]) {
			AI::clear('route');
			delete $self->{walking_to};
		}
	}
	if (defined(my $i = AI::findAction('attack'))) {
		my $id = $ai_seq_args[$i]{ID};
		my ($target) = grep { $_->{ID} eq $id } @{$monstersList->getItems};
		if (!$target || ++$target->{hits} >= 3) {
			$monstersList->remove(sub { $_[0]{ID} eq $id });
			AI::clear('attack');
			Plugins::callHook('target_died', { monster => $target });
		}
	}
	for my $m (@{$monstersList->getItems}) {
		$char->{hp} -= 5 if $m->{dmgToYou} && $char->{hp} > 5;
	}
	return;
}

# AI_pre and mainLoop_post, as one iteration of OpenKore's main loop fires them. A die (which
# would end OpenKore) is caught here and kept in @died for the test to check.
sub tick {
	my ($self) = @_;
	my $ok = eval {
		Plugins::callHook('AI_pre', { state => AI::AUTO() });
		Plugins::callHook('mainLoop_post');
		1;
	};
	push @died, $@ unless $ok;
	return $ok;
}

sub hook {
	my ($self, $name, $args) = @_;
	my $ok = eval { Plugins::callHook($name, $args); 1 };
	push @died, $@ unless $ok;
	return $ok;
}

sub console {
	my ($self, $line) = @_;
	my $ok = eval { Commands::run($line); 1 };
	push @died, $@ unless $ok;
	return $ok;
}

# Loads the plugin as OpenKore does (Plugins::load of plugins/openkoreAI/openkoreAI.pl) with
# these config.txt keys; returns the plugin object.
sub load_plugin {
	my ($self, %settings) = @_;
	$config{$_} = $settings{$_} for keys %settings;
	Plugins::load($PLUGIN_FILE);
	return $openkoreAI::plugin;
}

sub unload_plugin {
	Plugins::unload('openkoreAI');
	return;
}

sub plugin { $openkoreAI::plugin }

# ------------------------------------------------------------------ fakes

package OAITest::Net;
sub new { bless { state => Network::IN_GAME() }, shift }
sub getState { $_[0]{state} }
sub setState { $_[0]{state} = $_[1] }
sub serverAlive { 1 }

package OAITest::Field;
sub new { bless { name => $_[1] }, $_[0] }
sub name { $_[0]{name} }
sub baseName { $_[0]{name} }

package OAITest::List;
use overload '@{}' => sub { $_[0]->getItems }, fallback => 1;
sub new { my ($class, @items) = @_; bless { items => [@items] }, $class }
sub getItems { $_[0]{items} }
sub size { scalar @{$_[0]{items}} }
sub add { push @{$_[0]{items}}, $_[1] }
sub clear { @{$_[0]{items}} = () }
sub remove {
	my ($self, $what) = @_;
	my $match = ref $what eq 'CODE' ? $what : sub { $_[0] == $what };
	$self->{items} = [grep { !$match->($_) } @{$self->{items}}];
	return;
}
sub getByID {
	my ($self, $id) = @_;
	my ($found) = grep { $_->{ID} eq $id } @{$self->{items}};
	return $found;
}

package OAITest::Inventory;
our @ISA = ('OAITest::List');
sub isReady { 1 }

package OAITest::Char;
sub inventory { $_[0]{_inventory} }

1;

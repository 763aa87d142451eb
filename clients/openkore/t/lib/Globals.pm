package Globals;

# Test stand-in for OpenKore's Globals: the variables openkoreAI and the tests use, exported
# the same way (everything in @EXPORT).

use strict;
use warnings;
use Exporter 'import';

our (%config, $char, $field, $net, $monstersList, $playersList, $itemsList, $npcsList, %jobs_lut,
	@ai_seq, @ai_seq_args, %ai_v, %timeout, $conState, $accountID, %monsters, @monstersID,
	$messageSender, $taskManager);

our @EXPORT = qw(%config $char $field $net $monstersList $playersList $itemsList $npcsList %jobs_lut
	@ai_seq @ai_seq_args %ai_v %timeout $conState $accountID %monsters @monstersID $messageSender $taskManager);

%jobs_lut = (0 => 'Novice', 1 => 'Swordsman', 2 => 'Magician', 3 => 'Archer', 4 => 'Acolyte', 5 => 'Merchant', 6 => 'Thief', 7 => 'Knight');

1;

package Network;

# Test stand-in for OpenKore's Network: the connection state constants.

use strict;
use warnings;

use constant {
	NOT_CONNECTED              => 1,
	CONNECTED_TO_MASTER_SERVER => 2,
	CONNECTED_TO_LOGIN_SERVER  => 3,
	CONNECTED_TO_CHAR_SERVER   => 4,
	IN_GAME                    => 5,
	IN_GAME_BUT_UNINITIALIZED  => -1,
};

1;

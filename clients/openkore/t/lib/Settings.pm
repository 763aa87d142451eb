package Settings;

# Test stand-in for OpenKore's Settings: the program name and version.

use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(%sys);

our $NAME = 'OpenKore';
our $VERSION = 'test';
our %sys;

1;

package OpenkoreAI::JSON;

# JSON through JSON::PP (core Perl since 5.14), or JSON::Tiny, which OpenKore bundles in
# src/deps, for a Perl that lacks JSON::PP. Both encode to and decode from UTF-8 bytes.

use strict;
use warnings;

my ($encoder, $decoder, $true, $false);

if (eval { require JSON::PP; 1 }) {
	my $json = JSON::PP->new->utf8->allow_nonref(0)->max_depth(64);
	$encoder = sub { $json->encode($_[0]) };
	$decoder = sub { $json->decode($_[0]) };
	$true = JSON::PP::true();
	$false = JSON::PP::false();
} elsif (eval { require JSON::Tiny; 1 }) {
	$encoder = \&JSON::Tiny::encode_json;
	$decoder = \&JSON::Tiny::decode_json;
	$true = JSON::Tiny::true();
	$false = JSON::Tiny::false();
} else {
	die "openkoreAI needs JSON::PP (core Perl) or JSON::Tiny (OpenKore's src/deps)\n";
}

sub encode { $encoder->($_[0]) }
sub decode { $decoder->($_[0]) }
sub true   { $true }
sub false  { $false }
sub bool   { $_[0] ? $true : $false }

1;

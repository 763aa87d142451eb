#!/usr/bin/env perl
# Replays every call of the OpenKore plugin in the field (GodTierAI) against a running engine,
# with the plugin's own client stack (HTTP::Tiny + JSON::PP, both core Perl) and bodies built
# the way it builds them (int() numbers, raw OpenKore values, `type || 'misc'`,
# `party_members => {}`, equipment `slot => 'unknown'`), then reads each answer the way the
# plugin reads it. The protocol reference is docs/field-plugin.md; the characters, maps and numbers
# here are this suite's own.
#
#   FIELD_SERVICE_URL=http://127.0.0.1:9902 FIELD_ENGINE_URL=http://127.0.0.1:9901 perl replay.pl
#
# FIELD_SERVICE_URL is where the plugin sends everything but the strategic plan (its 9902),
# FIELD_ENGINE_URL where it asks for the plan (its 9901). FIELD_RAW_AS_TEXT=1 sends the raw
# OpenKore values as the decimal strings older Perl/JSON backends produce.
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

my $service = $ENV{FIELD_SERVICE_URL} or die "FIELD_SERVICE_URL is not set\n";
my $engine = $ENV{FIELD_ENGINE_URL} or die "FIELD_ENGINE_URL is not set\n";
my $raw_as_text = $ENV{FIELD_RAW_AS_TEXT} ? 1 : 0;
my $tag = $ENV{FIELD_TAG} // 'run';

# The plugin's client: one HTTP::Tiny, 10 s per socket operation, its agent, keep-alive.
my $http = HTTP::Tiny->new(timeout => 10, agent => 'GodTierAI/2.0', verify_SSL => 0, keep_alive => 1);
my $json = JSON::PP->new->utf8->canonical;

# A raw OpenKore value: a number, or the string Perl makes of it once it was used as text.
sub raw { my ($v) = @_; return undef unless defined $v; return $raw_as_text ? "$v" : $v + 0 }

sub post {
    my ($url, $data) = @_;
    return $http->post($url, { headers => { 'Content-Type' => 'application/json' }, content => encode_json($data) });
}

# What the plugin does with a body: decode_json, and only a HASH is safe (anything else dies).
sub decoded {
    my ($res) = @_;
    my $data = eval { decode_json($res->{content}) };
    return $data;
}

# How execute_action reads a decide answer: flat {action, params} or nested {action: {type, params}}.
sub read_action {
    my ($data) = @_;
    my $action = $data->{action};
    my $params = $data->{params} || {};
    my $type;
    if (ref($action) eq 'HASH') { $type = $action->{type}; $params = $action->{params} || $params }
    elsif (ref($action) eq '') { $type = $action }
    return ($type, $params);
}

# Types the plugin executes (docs/field-plugin.md §4.3) minus the ones it only logs (skill, move)
# and idle, which blocks OpenKore for its duration.
my %EXECUTES = map { $_ => 1 } qw(
  attack use_item item rest emergency_flee emergency_heal idle_recover attack_monster move_to_position
  teleport continue continue_combat none accept_duel decline_duel retreat auto_buy sell_items attack_nearest
  return_to_town farm_monsters job_change_quest find_quest move_to_location chat_response give_buff
  accept_party decline_party accept_trade decline_trade move_random allocate_stats learn_skill move_to_map
  hunt_monsters explore_map buy_supplies);
my %FIGHTS = map { $_ => 1 } qw(attack attack_monster attack_nearest hunt_monsters farm_monsters explore_map give_buff);
# The plugin's emergency_heal drinks the first of these it holds; of them only 506 heals no HP.
my @PLUGIN_POTIONS = (507, 501, 502);

my $counter = 0;

# A character as collect_game_state builds it.
sub character {
    my (%c) = @_;
    return {
        name => $c{name},
        level => int($c{level} || 1),
        job_level => int($c{job_level} || 0),
        base_exp => int($c{base_exp} || 0), base_exp_max => int($c{base_exp_max} || 0),
        job_exp => int(0), job_exp_max => int(0),
        hp => int($c{hp} || 0), max_hp => int($c{max_hp} || 1),
        sp => int($c{sp} || 0), max_sp => int($c{max_sp} || 1),
        points_free => int($c{points_free} || 0), points_skill => int($c{points_skill} || 0),
        str => int($c{str} || 1), agi => int($c{agi} || 1), vit => int($c{vit} || 1),
        int => int($c{int} || 1), dex => int($c{dex} || 1), luk => int($c{luk} || 1),
        points_str => int(2), points_agi => int(3), points_vit => int(2), points_int => int(2), points_dex => int(3), points_luk => int(2),
        position => { map => $c{map} // 'unknown', x => int($c{x} || 0), y => int($c{y} || 0) },
        weight => int($c{weight} || 0), max_weight => int($c{max_weight} || 1),
        zeny => int($c{zeny} || 0),
        job_class => $c{job_class} || 'Novice',
        status_effects => [],
        equipment => [ map { { slot => (defined $_->{type_equip} && $_->{type_equip} ? raw($_->{type_equip}) : 'unknown'), name => $_->{name} || 'Unknown', id => int($_->{nameID} || 0) } } @{ $c{equipped} || [] } ],
        guild => { name => "" . ($c{guild} // ''), id => "" . ($c{guild_id} // ''), position => "" . ($c{guild_title} // '') },
        active_quests => int(0),
    };
}

sub game_state {
    my (%g) = @_;
    my $slot = 0;
    return {
        character => character(%{ $g{char} }),
        skills => [ map { { name => $_->[0], level => int($_->[1]), sp_cost => int($_->[2] || 0) } } @{ $g{skills} || [] } ],
        monsters => [ map { { id => int($_->{binID} || 0), name => $_->{name} || 'Unknown', hp => int(0), max_hp => int(0), distance => int($_->{distance} // 999), is_aggressive => ($_->{dmgToYou} ? JSON::PP::true : JSON::PP::false) } } @{ $g{monsters} || [] } ],
        inventory => [ map { {
            id => int($_->{nameID} || 0), name => $_->{name}, amount => int($_->{amount} || 1),
            type => ($raw_as_text && $_->{type} ? "$_->{type}" : ($_->{type} || 'misc')),
            equipped => ($_->{equipped} ? JSON::PP::true : JSON::PP::false), invIndex => $slot++,
        } } @{ $g{inventory} || [] } ],
        nearby_players => [ map { { name => $_->{name}, level => int($_->{lv} || 1), guild => $_->{guild} || '', distance => int($_->{distance} || 0), is_party_member => ($_->{party} ? JSON::PP::true : JSON::PP::false), job_class => $_->{job} || 'Novice' } } @{ $g{players} || [] } ],
        party_members => {},
        timestamp_ms => int(time() * 1000),
    };
}

sub decide {
    my (%g) = @_;
    $counter++;
    my $body = { game_state => game_state(%g), request_id => "req_" . time() . "_$counter", timestamp_ms => int(time() * 1000) };
    my $res = post("$service/api/v1/decide", $body);
    return ($res, $body->{game_state});
}

# Checks a decide answer as the plugin would execute it; returns the type.
sub executable {
    my ($res, $state, $name) = @_;
    ok($res->{success}, "$name: 2xx") or diag("$res->{status} $res->{content}");
    my $data = decoded($res);
    is(ref($data), 'HASH', "$name: a JSON object (anything else kills the plugin)") or return '';
    my ($type, $params) = read_action($data);
    ok(defined $type && $EXECUTES{$type}, "$name: '" . ($type // 'undef') . "' is a type the plugin executes") or return '';
    is(ref($params), 'HASH', "$name: params is an object");
    for my $list (qw(items buy_items)) { ok(!exists $params->{$list} || ref($params->{$list}) eq 'ARRAY', "$name: $list, if present, is an array") }
    my %monster = map { $_->{id} => 1 } @{ $state->{monsters} };
    my @held = grep { $_->{amount} > 0 } @{ $state->{inventory} };
    my %held_name = map { $_->{name} => 1 } @held;
    my %held_id = map { $_->{id} => 1 } @held;
    my $c = $state->{character};
    if ($c->{hp} * 100 <= 15 * $c->{max_hp}) { ok(!$FIGHTS{$type}, "$name: no fighting at $c->{hp}/$c->{max_hp} HP (got $type)") }
    if ($type eq 'attack_monster') { ok(defined $params->{target_id} && $monster{ $params->{target_id} }, "$name: target_id " . ($params->{target_id} // 'undef') . " is a monster it sees") }
    if ($type eq 'move_to_position') { ok(defined $params->{x} && defined $params->{y}, "$name: move_to_position has x and y") }
    if ($type eq 'use_item' || $type eq 'item') { ok(defined $params->{item} && $held_name{ $params->{item} }, "$name: uses an item it holds (" . ($params->{item} // 'undef') . ")") }
    if ($type eq 'emergency_heal') { ok((grep { $held_id{$_} } @PLUGIN_POTIONS), "$name: emergency_heal with one of the potions the plugin drinks") }
    if ($type eq 'teleport' && ($params->{method} || 'fly_wing') eq 'fly_wing') { ok($held_name{'Fly Wing'}, "$name: teleports with a Fly Wing it holds") }
    return $type;
}

# ------------------------------------------------------------------ the characters of this run
my %brannoc = (name => "Brannoc_$tag", level => 27, job_level => 18, hp => 640, max_hp => 810, sp => 44, max_sp => 70,
    str => 31, agi => 42, vit => 12, dex => 15, map => 'moc_fild02', x => 188, y => 231, weight => 420, max_weight => 2200,
    zeny => 15120, job_class => 'Swordsman', guild => 'Dunewatch', guild_id => 40112, guild_title => 'Scout',
    equipped => [ { type_equip => 2, name => 'Blade [3]', nameID => 1108 }, { type_equip => 0, name => 'Guard', nameID => 2101 } ]);
my @brannoc_skills = (['NV_BASIC', 9], ['SM_BASH', 6, 8], ['SM_PROVOKE', 3, 5], ['SM_SWORD', 2]);
my @desert = ({ binID => 4, name => 'Hode', distance => 6 }, { binID => 11, name => 'Desert Wolf', distance => 3, dmgToYou => 57 });
my @bag = (
    { nameID => 501, name => 'Red Potion', amount => 14, type => 0 },
    { nameID => 1108, name => 'Blade [3]', amount => 1, type => 5, equipped => 1 },
    { nameID => 909, name => 'Jellopy', amount => 23, type => 3 },
    { nameID => 601, name => 'Fly Wing', amount => 4, type => 2 },
);

# ------------------------------------------------------------------ health (GET)
{
    my $res = $http->get("$service/health");
    ok($res->{success}, 'GET /health on the service port answers 2xx');
    for my $url ($service, $engine) {
        my $h = $http->get("$url/api/v1/health");
        ok($h->{success}, "GET $url/api/v1/health 2xx");
        is(ref(decoded($h)), 'HASH', 'health is a JSON object');
    }
}

# ------------------------------------------------------------------ decide
{
    my ($res, $state) = decide(char => \%brannoc, skills => \@brannoc_skills, monsters => \@desert, inventory => \@bag,
        players => [ { name => 'Oriel', lv => 41, guild => 'Dunewatch', distance => 5, party => 1, job => 'Priest' } ]);
    my $type = executable($res, $state, 'fighting back');
    is($type, 'attack_monster', 'a healthy swordsman hit by a Desert Wolf fights back');
    my (undef, $params) = read_action(decoded($res));
    is($params->{target_id}, 11, 'at the monster that hit it');

    ($res, $state) = decide(char => { %brannoc, hp => 150 }, skills => \@brannoc_skills, monsters => \@desert, inventory => \@bag);
    is(executable($res, $state, 'low HP with a Red Potion'), 'emergency_heal', 'low HP with a Red Potion (sent as type "misc"): emergency_heal');

    ($res, $state) = decide(char => { %brannoc, hp => 70 }, skills => \@brannoc_skills, monsters => \@desert,
        inventory => [ grep { $_->{nameID} != 501 } @bag ]);
    my $got = executable($res, $state, 'dying with a Fly Wing');
    is($got, 'teleport', 'dying without a potion, holding a Fly Wing: teleport');
    is((read_action(decoded($res)))[1]{method}, 'fly_wing', '... by Fly Wing');

    ($res, $state) = decide(char => { %brannoc, hp => 50 }, skills => \@brannoc_skills, monsters => \@desert, inventory => [ $bag[1], $bag[2] ]);
    $got = executable($res, $state, 'dying with nothing');
    ok($got eq 'emergency_flee' || $got eq 'teleport', "dying with nothing to drink or fly with: emergency_flee (got $got)");

    ($res, $state) = decide(char => { %brannoc, hp => 90 }, monsters => \@desert,
        inventory => [ { nameID => 545, name => 'Condensed Red Potion', amount => 6, type => 0 } ]);
    $got = executable($res, $state, 'dying with a potion the plugin does not know');
    is($got, 'use_item', 'a potion outside the plugin\'s own list: use_item by name');

    my %ilse = (name => "Ilse_$tag", level => 38, job_level => 31, hp => 40, max_hp => 610, sp => 180, max_sp => 240, int => 48, dex => 30, vit => 22,
        map => 'prt_fild05', x => 77, y => 301, weight => 300, max_weight => 1900, job_class => 'Acolyte');
    ($res, $state) = decide(char => \%ilse, skills => [ ['AL_HEAL', 8, 30], ['AL_RUWACH', 1, 10], ['AL_TELEPORT', 1, 10], ['NV_BASIC', 9] ],
        monsters => [ { binID => 2, name => 'Wolf', distance => 2, dmgToYou => 31 } ], inventory => [ { nameID => 717, name => 'Blue Gemstone', amount => 3, type => 3 } ]);
    $got = executable($res, $state, 'dying acolyte with the teleport skill');
    is($got, 'teleport', 'a dying acolyte knowing AL_TELEPORT (a handle, no id): teleport');
    is((read_action(decoded($res)))[1]{method}, 'skill', '... by skill');

    ($res, $state) = decide(char => { %brannoc, name => "Quiet_$tag" }, skills => \@brannoc_skills, inventory => \@bag);
    executable($res, $state, 'nothing around');

    ($res, $state) = decide(char => { %brannoc, name => "Heavy_$tag", weight => 2050 }, inventory => \@bag);
    $got = executable($res, $state, 'overweight with loot');
    is($got, 'sell_items', 'overweight with Jellopy in the bag: sell_items');

    # What is really wrong is still refused, as a JSON error envelope: the plugin then decides locally.
    my $bad = game_state(char => \%brannoc);
    $bad->{character}{hp} = 'lots';
    my $refused = post("$service/api/v1/decide", { game_state => $bad, request_id => 'req_bad' });
    ok(!$refused->{success}, 'hp that is not a number: refused');
    is(ref(decoded($refused)), 'HASH', '... with a JSON object');
}

# ------------------------------------------------------------------ action_feedback
for my $status (qw(success failed partial abandoned)) {
    my $res = post("$service/api/v1/action_feedback", { action => 'sell_items', status => $status, reason => ($status eq 'success' ? 'items_sold' : undef), message => '' });
    ok($res->{success}, "action_feedback $status: 2xx") or diag("$res->{status} $res->{content}");
}

# ------------------------------------------------------------------ social
{
    my $res = post("$service/api/v1/social/chat", { character_name => $brannoc{name}, player_name => "Veyla_$tag", message => 'hi there!', message_type => 'whisper', my_level => int(27), my_job => 'Swordsman' });
    ok($res->{success}, 'social/chat 2xx') or diag("$res->{status} $res->{content}");
    my $data = decoded($res);
    is(ref($data), 'HASH', 'social/chat: a JSON object');
    is($data->{type}, 'chat_response', 'a greeting gets a chat_response');
    is($data->{params}{target}, "Veyla_$tag", '... addressed to the sender (the plugin does not add it)');
    ok(length($data->{params}{message} // ''), '... with a message');

    $res = post("$service/api/v1/social/chat", { character_name => $brannoc{name}, player_name => "Veyla_$tag", message => 'zzz', message_type => 'whisper', my_level => int(27), my_job => 'Swordsman' });
    $data = decoded($res);
    ok($res->{success} && ref($data) eq 'HASH' && defined $data->{type}, 'nothing to say: still an object with a type (' . ($data->{type} // 'undef') . ')');

    $res = post("$service/api/v1/social/party_invite", { character_name => $brannoc{name}, player_name => "Sandfolk_$tag", my_level => int(27) });
    ok($res->{success}, 'social/party_invite 2xx') or diag("$res->{status} $res->{content}");
    $data = decoded($res);
    is(ref($data), 'HASH', 'party_invite: a JSON object');
    ok(($data->{type} // '') =~ /^(accept_party|decline_party)$/, 'party_invite: accept_party or decline_party (' . ($data->{type} // 'undef') . ')');
}

# ------------------------------------------------------------------ strategy/plan (the engine port)
for my $job (1, 'Novice') {
    my $res = post("$engine/api/v1/strategy/plan", {
        character => { name => $brannoc{name}, level => int(27), job_level => int(18), job_class => $job, zeny => int(15120),
            base_exp => int(4000), base_exp_max => int(9000), job_exp => int(300), job_exp_max => int(2000) },
        inventory => { weight_percent => int(19), item_count => 12 },
        context => 'general_planning', request_id => 'strategic_' . time(), timestamp_ms => int(time() * 1000) });
    ok($res->{success}, "strategy/plan with job_class $job: 2xx") or diag("$res->{status} $res->{content}");
    my $data = decoded($res);
    is(ref($data), 'HASH', 'strategy/plan: a JSON object (an array kills the plugin)');
    ok(defined $data->{plan_type} && !ref($data->{plan_type}), 'strategy/plan: plan_type is a string');
    is($data->{job_class}, ($job eq '1' ? 'Swordsman' : 'Novice'), "job_class $job read as a job");
}

# ------------------------------------------------------------------ inventory/sell_junk
{
    my $slot = 0;
    my @sell = map { { name => $_->{name}, amount => raw($_->{amount}), type => raw($_->{type}), id => raw($_->{nameID}), invIndex => $slot++ } } (
        { nameID => 501, name => 'Red Potion', amount => 14, type => 0 },
        { nameID => 1108, name => 'Blade [3]', amount => 1, type => 5 },
        { nameID => 909, name => 'Jellopy', amount => 23, type => 3 },
        { nameID => 601, name => 'Fly Wing', amount => 4, type => 2 },
        { nameID => 919, name => 'Animal Skin', amount => 9, type => 3 },
        { nameID => 985, name => 'Elunium', amount => 2, type => 3 },
    );
    my $res = post("$service/api/v1/inventory/sell_junk", { inventory => \@sell });
    ok($res->{success}, 'sell_junk 2xx') or diag("$res->{status} $res->{content}");
    my $data = decoded($res);
    is(ref($data), 'HASH', 'sell_junk: a JSON object');
    ok($data->{success}, 'sell_junk: success');
    is(ref($data->{sell_commands}), 'ARRAY', 'sell_commands is an array');
    is_deeply($data->{sell_commands}, ['sell 2 23', 'sell 4 9'], 'sells the Jellopy and the Animal Skin, nothing else');
    ok(!(grep { !/^sell \d+ \d+$/ } @{ $data->{sell_commands} }), 'every command is "sell <index> <amount>"');
    ok(defined $data->{estimated_zeny} && $data->{estimated_zeny} =~ /^\d+$/, "estimated_zeny is a number ($data->{estimated_zeny})");

    $res = post("$service/api/v1/inventory/sell_junk", { inventory => [ $sell[0], $sell[3] ] });
    $data = decoded($res);
    ok($res->{success} && ref($data) eq 'HASH', 'nothing to sell: 2xx object');
    is(ref($data->{sell_commands}), 'ARRAY', 'nothing to sell: sell_commands still present (else attackAuto stays off)');
    is(scalar @{ $data->{sell_commands} }, 0, '... and empty');
}

# ------------------------------------------------------------------ progression
my $STAT_LIST = qr/^(str|agi|vit|int|dex|luk) \d+(, (str|agi|vit|int|dex|luk) \d+)*$/;
my $SKILL_LIST = qr/^[A-Z][A-Z0-9_]+ \d+(, [A-Z][A-Z0-9_]+ \d+)*$/;
{
    my %stats = (str => int(31), agi => int(42), vit => int(12), int => int(1), dex => int(15), luk => int(1));
    for my $form ([ 'hook', { current_level => int(28), current_stats => {%stats} } ], [ 'periodic', { current_level => int(28), current_stats => {%stats}, unused_points => int(4) } ]) {
        my $res = post("$service/api/v1/progression/stats/on_level_up", $form->[1]);
        ok($res->{success}, "stats/on_level_up ($form->[0]) 2xx") or diag("$res->{status} $res->{content}");
        my $data = decoded($res);
        is(ref($data), 'HASH', 'stats: a JSON object');
        my $list = $data->{config}{statsAddAuto_list} // '';
        like($list, $STAT_LIST, "stats ($form->[0]): statsAddAuto_list \"$list\"");
        ok(!(grep { $_ > 99 } ($list =~ /(\d+)/g)), 'no value above 99 (statsAdd_over_99 is off by default)');
        like($list, qr/\bagi \d+/, 'an agi/str fighter gets a build that raises agi');
    }

    my %skills = (NV_BASIC => int(9), SM_BASH => int(3), SM_PROVOKE => int(1));
    my $res = post("$service/api/v1/progression/skills/on_job_level_up", { current_job_level => int(19), job => lc('Swordsman'), current_skills => {%skills} });
    ok($res->{success}, 'skills/on_job_level_up (hook: job, lower case) 2xx') or diag("$res->{status} $res->{content}");
    my $data = decoded($res);
    my $list = $data->{config}{skillsAddAuto_list} // '';
    like($list, $SKILL_LIST, "skills (hook): skillsAddAuto_list by handle \"$list\"");
    like($list, qr/^NV_BASIC 9, SM_BASH \d+/, 'the Novice plan first, then Swordsman skills');

    $res = post("$service/api/v1/progression/skills/on_job_level_up", { current_job_level => int(31), job_class => 'Acolyte', current_skills => { NV_BASIC => int(9), AL_HEAL => int(8) }, unused_points => int(2) });
    ok($res->{success}, 'skills/on_job_level_up (periodic: job_class) 2xx');
    $data = decoded($res);
    $list = $data->{config}{skillsAddAuto_list} // '';
    like($list, $SKILL_LIST, "skills (periodic): \"$list\"");
    like($list, qr/\bAL_HEAL \d+/, 'an acolyte plan');

    $res = post("$service/api/v1/progression/equipment/on_map_change", { new_map => 'moc_fild03', enemies => [ { name => 'Hode', element => 'neutral', race => 'unknown', size => 'medium' } ] });
    ok($res->{success}, 'equipment/on_map_change 2xx');
    $data = decoded($res);
    is(ref($data->{commands}), 'ARRAY', 'equipment: commands is an array');

    $res = post("$service/api/v1/self_heal/fix_plugin_config", { plugin_name => 'teleToDest', character_level => 27 + 0, character_class => 'Novice' });
    ok($res->{success}, 'self_heal/fix_plugin_config 2xx');
    $data = decoded($res);
    is(ref($data), 'HASH', 'self_heal: a JSON object');
    ok(!$data->{success}, 'self_heal: declined (the engine does not edit config.txt)');
    ok(length($data->{error} // ''), "self_heal: says why: $data->{error}");
}

done_testing();

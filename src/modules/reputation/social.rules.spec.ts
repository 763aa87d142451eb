import type { ReputationTier } from './reputation.rules';
import { decideChat, decidePartyInvite, type PlayerStanding, replyChannel } from './social.rules';

const standing = (tier: ReputationTier, extra: Partial<PlayerStanding> = {}): PlayerStanding => ({
  tier,
  isFriend: false,
  isGuildMember: false,
  isWhitelisted: false,
  isBlacklisted: false,
  ...extra,
});
const chat = (message: string, tier: ReputationTier = 'Neutral', extra: Record<string, unknown> = {}, s: Partial<PlayerStanding> = {}) =>
  decideChat({ characterName: 'MyKnight', playerName: 'Bob', message, messageType: 'whisper', myLevel: 87, myJob: 'Knight', ...extra }, standing(tier, s));

describe('chat rules', () => {
  it('ignores blocked and blacklisted players whatever they say', () => {
    expect(chat('hi', 'Blocked')).toMatchObject({ action: 'none', rule: 'blocked' });
    expect(chat('trade?', 'Trusted', {}, { isBlacklisted: true })).toMatchObject({ action: 'none', rule: 'blocked' });
  });

  it('answers only messages addressed to us outside whispers', () => {
    expect(chat('hello all', 'Friendly', { messageType: 'public' })).toMatchObject({ action: 'none', rule: 'not_addressed' });
    expect(chat('hello myknight', 'Friendly', { messageType: 'public' })).toMatchObject({ action: 'chat_response', channel: 'public' });
    expect(chat('hi MyKnight', 'Neutral', { messageType: 'guild' })).toMatchObject({ action: 'chat_response', channel: 'pm' });
    expect(chat('   ')).toMatchObject({ action: 'none', rule: 'empty' });
  });

  it('declines trades below Friendly and accepts them from Friendly up', () => {
    for (const tier of ['Suspicious', 'Neutral', 'Acquaintance'] as const) {
      expect(chat('wanna trade?', tier)).toMatchObject({ action: 'chat_response', rule: 'trade_decline', message: 'Sorry, not trading right now.' });
    }
    for (const tier of ['Friendly', 'Trusted', 'Whitelisted'] as const) {
      expect(chat('WTS elu, good price', tier)).toMatchObject({ action: 'chat_response', rule: 'trade_accept' });
    }
  });

  it('answers level and job questions, greetings and thanks; stays quiet with Suspicious players', () => {
    expect(chat('what lvl are u?')).toMatchObject({ message: "I'm level 87.", rule: 'level' });
    expect(chat('level?', 'Neutral', { myLevel: null })).toMatchObject({ action: 'none' });
    expect(chat('what job are you?')).toMatchObject({ message: "I'm a Knight.", rule: 'job' });
    expect(chat('hello!', 'Neutral')).toMatchObject({ message: 'Hi!', rule: 'greeting' });
    expect(chat('hello!', 'Friendly')).toMatchObject({ message: 'Hey Bob! Good to see you.' });
    expect(chat('thanks!')).toMatchObject({ message: 'No problem!' });
    expect(chat('hello!', 'Suspicious')).toMatchObject({ action: 'none', rule: 'suspicious' });
    expect(chat('the weather is nice')).toMatchObject({ action: 'none', rule: 'no_rule' });
    // "you" is not the greeting "yo".
    expect(chat('you there')).toMatchObject({ action: 'none' });
  });

  it('is deterministic', () => {
    expect(chat('hi')).toEqual(chat('hi'));
  });

  it('maps the plugin message types to the channels it can send on', () => {
    expect(replyChannel('whisper')).toBe('pm');
    expect(replyChannel('public')).toBe('public');
    expect(replyChannel('PARTY')).toBe('party');
    expect(replyChannel('guild')).toBe('pm');
    expect(replyChannel(undefined)).toBe('pm');
  });
});

describe('party invite rules', () => {
  it.each<[ReputationTier, string]>([
    ['Whitelisted', 'accept_party'],
    ['Trusted', 'accept_party'],
    ['Friendly', 'accept_party'],
    ['Acquaintance', 'accept_party'],
    ['Neutral', 'decline_party'],
    ['Suspicious', 'decline_party'],
    ['Blocked', 'decline_party'],
  ])('%s → %s', (tier, action) => {
    expect(decidePartyInvite('Bob', standing(tier)).action).toBe(action);
  });

  it('accepts friends, guild members and whitelisted players at any tier but Blocked, never the blacklisted', () => {
    expect(decidePartyInvite('Bob', standing('Neutral', { isFriend: true }))).toMatchObject({ action: 'accept_party', rule: 'trusted_relation' });
    expect(decidePartyInvite('Bob', standing('Suspicious', { isGuildMember: true })).action).toBe('accept_party');
    expect(decidePartyInvite('Bob', standing('Blocked', { isFriend: true })).action).toBe('decline_party');
    expect(decidePartyInvite('Bob', standing('Trusted', { isBlacklisted: true })).action).toBe('decline_party');
  });
});

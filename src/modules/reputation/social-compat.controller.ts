import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../../common/http/api-errors.decorator';
import { LenientBodyPipe } from '../../common/validation/lenient-body.pipe';
import { RawResponse } from '../../common/http/public.decorator';
import { bodyFields, characterRef, SessionFrom, type SessionRefExtractor } from '../../common/http/session-scope.decorator';
import { SocialActionDto, SocialChatDto, SocialPartyInviteDto } from './dto/social-compat.dto';
import { ReputationService } from './reputation.service';

/** The same session as the plugin's decide route: its character's. */
const socialSession: SessionRefExtractor = (req) => characterRef(bodyFields(req).character_name);

/** Social routes the GodTierAI plugin in the field calls (no session id, no token), flat answers. */
@ApiTags('compatibility')
@Controller('api/v1/social')
export class SocialCompatController {
  constructor(private readonly reputation: ReputationService) {}

  @Post('chat')
  @HttpCode(200)
  @RawResponse()
  @SessionFrom(socialSession)
  @ApiOperation({
    summary: 'Plugin chat hook: a rule-based reply (chat_response) or none, by the sender’s reputation tier; recorded',
    description:
      'Rules, first match wins: blacklisted/Blocked → none; empty → none; public/party/guild message not naming ' +
      'character_name → none; trade talk → accepted from Friendly and better, politely declined below; Suspicious → none; ' +
      'level/job question → answered from my_level/my_job; greeting → "Hey NAME!" (Friendly+) or "Hi!"; thanks → "No problem!"; ' +
      'otherwise none. The reply goes back on the same channel (guild mentions by whisper). A player without player_id is ' +
      'found by name (a real game id preferred), else gets a stable synthetic id ≥ 2^32.',
  })
  @ApiOkResponse({ type: SocialActionDto })
  @ApiErrors()
  // Readonly<…>: the lenient pipe, not the global one, reads it (unknown fields are ignored on the plugin's routes).
  chat(@Body(new LenientBodyPipe(SocialChatDto)) dto: Readonly<SocialChatDto>): Promise<SocialActionDto> {
    return this.reputation.chat(dto);
  }

  @Post('party_invite')
  @HttpCode(200)
  @RawResponse()
  @SessionFrom(socialSession)
  @ApiOperation({
    summary: 'Plugin party-invite hook: accept_party or decline_party by the inviter’s tier; recorded',
    description:
      'Blacklisted/Blocked → decline; whitelisted, friend or guild member → accept; Acquaintance or better (score ≥ 25) → accept; otherwise decline.',
  })
  @ApiBody({ type: SocialPartyInviteDto })
  @ApiOkResponse({ type: SocialActionDto })
  @ApiErrors()
  partyInvite(@Body(new LenientBodyPipe(SocialPartyInviteDto)) dto: Readonly<SocialPartyInviteDto>): Promise<SocialActionDto> {
    return this.reputation.partyInvite(dto);
  }
}

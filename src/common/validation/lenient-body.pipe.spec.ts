import { IsInt, IsOptional, IsString } from 'class-validator';
import { InvalidRequestError } from '../errors/app.error';
import { LenientBodyPipe } from './lenient-body.pipe';

class Sample {
  @IsString() name: string;
  @IsOptional() @IsInt() level?: number;
}

describe('LenientBodyPipe', () => {
  const pipe = new LenientBodyPipe(Sample);
  const meta = { type: 'body' as const };

  it('drops fields the DTO does not declare and validates the rest', async () => {
    const out = await pipe.transform({ name: 'Aster', level: 3, plan_id: 'x', extra: { deep: 1 } }, meta);
    expect(out).toBeInstanceOf(Sample);
    expect({ ...out }).toEqual({ name: 'Aster', level: 3 });
  });

  it('still refuses a declared field of the wrong type, and a body that is not an object', async () => {
    await expect(pipe.transform({ name: 'Aster', level: 'three' }, meta)).rejects.toThrow(InvalidRequestError);
    await expect(pipe.transform({ level: 3 }, meta)).rejects.toThrow('name');
    await expect(pipe.transform([1], meta)).rejects.toThrow('Request body must be a JSON object');
  });
});

import { Module } from '@nestjs/common';
import { SessionModule } from '../session';
import { AdminController } from './admin.controller';

@Module({ imports: [SessionModule], controllers: [AdminController] })
export class AdminModule {}

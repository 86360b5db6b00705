import { runService } from '@ticketing/common';
import { authService } from './app';

runService(authService);

import { runService } from '@ticketing/common';
import { expirationService } from './app';

runService(expirationService);

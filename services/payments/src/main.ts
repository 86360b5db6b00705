import { runService } from '@ticketing/common';
import { paymentsService } from './app';

runService(paymentsService);

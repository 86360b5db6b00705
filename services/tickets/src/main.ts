import { runService } from '@ticketing/common';
import { ticketsService } from './app';

runService(ticketsService);

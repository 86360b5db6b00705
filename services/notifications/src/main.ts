import { runService } from '@ticketing/common';
import { notificationsService } from './app';

runService(notificationsService);

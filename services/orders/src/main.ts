import { runService } from '@ticketing/common';
import { ordersService } from './app';

runService(ordersService);

// Entry point run by bin/upkeep.
import { run } from './main.js';

void run(process.argv);

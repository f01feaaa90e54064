import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { findScript } from './shared.ts';

/** `da scripts undeploy NAME`: removes a script, its schedule, runs and artifacts. */
export class ScriptsUndeployCommand extends BaseCommand {
  static paths = [['scripts', 'undeploy']];
  static usage = Command.Usage({
    category: 'Scripts',
    description: 'Undeploy a script: its schedule, runs and artifacts go too',
    examples: [['Undeploy', '$0 scripts undeploy daily-revenue']],
  });
  name = Option.String({ name: 'name' });

  async run() {
    const client = this.authedClient();
    const script = await findScript(client, this.name);
    await client.delete(`/api/scripts/${script.id}`);
    this.emit({ id: script.id, name: script.name, undeployed: true }, () => `undeployed ${script.name}`);
  }
}

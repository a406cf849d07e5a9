import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { type AgentSyncResult, countPlatformAgents, type PlatformAgent, syncPlatformAgents } from '../db/agent-sync';
import type { Db } from '../db/pool';
import { afterAgentChange, type RunSignals } from '../assignment/dispatcher';
import type { RespondioClient, RespondioUser } from '../respondio/client';
import { platformFailure, requirePlatform } from './platform';

/** How users imported from respond.io become agents. */
export interface AgentSyncSettings {
  /** respond.io team name → our team, where they differ. */
  teamMap: Record<string, string>;
  /** For users without a team in respond.io. */
  defaultTeam: string;
  newAgentsOnline: boolean;
}

/** What a sync did, as the workflow returns it. */
export type AgentSyncSummary = Omit<AgentSyncResult, 'changes'> & { users: number };

/** "VIP Support" → "vip-support", unless the team map names it otherwise. */
function teamFor(user: Pick<RespondioUser, 'team'>, settings: AgentSyncSettings): string {
  const name = user.team?.name?.trim();
  if (!name) return settings.defaultTeam;
  const mapped = settings.teamMap[name];
  if (mapped) return mapped;
  const slug = name.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return slug || settings.defaultTeam;
}

function asPlatformAgent(user: RespondioUser, settings: AgentSyncSettings): PlatformAgent {
  const name = [user.firstName, user.lastName].filter((part) => part?.trim()).join(' ').trim();
  return {
    userId: String(user.id),
    name: (name || user.email || `respond.io user ${user.id}`).slice(0, 200),
    email: user.email?.trim() || null,
    team: teamFor(user, settings).slice(0, 100),
    role: user.role === 'agent' ? 'agent' : 'manager',
  };
}

export function createAgentSyncActivities(deps: { db: Db; signals: RunSignals; respondio?: RespondioClient; settings: AgentSyncSettings }) {
  return {
    /** Imports respond.io's users as agents (the agent sync); presence and capacity stay as the operator set them. */
    async importPlatformAgents(): Promise<AgentSyncSummary> {
      const respondio = requirePlatform(deps.respondio);
      const users: PlatformAgent[] = [];
      try {
        for await (const user of respondio.listUsers({ limit: 100 }, { signal: Context.current().cancellationSignal })) {
          users.push(asPlatformAgent(user, deps.settings));
          Context.current().heartbeat(users.length);
        }
      } catch (error) {
        throw platformFailure(error);
      }
      if (users.length === 0 && (await countPlatformAgents(deps.db)) > 0) {
        // An empty workspace is far likelier a wrong token or workspace than everyone leaving at once.
        throw ApplicationFailure.create({
          type: 'Respondio.no_users',
          message: 'respond.io listed no users: not taking every imported agent offline',
          nonRetryable: true,
        });
      }
      const result = await syncPlatformAgents(deps.db, users, { newAgentsOnline: deps.settings.newAgentsOnline });
      for (const { before, after } of result.changes) await afterAgentChange(deps.db, deps.signals, before, after);
      const { added, updated, removed, restored, unchanged, emailConflicts } = result;
      log.info('agents synced from respond.io', { users: users.length, added: added.length, updated: updated.length, removed: removed.length });
      return { users: users.length, added, updated, removed, restored, unchanged, emailConflicts };
    },
  };
}

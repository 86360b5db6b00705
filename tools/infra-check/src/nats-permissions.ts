import {
  changeNoticeSubject,
  deadLetterSubject,
  durableName,
  eventCatalog,
  serviceInboxPrefix,
  streamNames,
} from '@ticketing/common';
import {
  eventStreamOf,
  listenedSubjects,
  publishedSubjects,
  type ServiceName,
  serviceNames,
} from './contract';
import { isMap, isVariable, type NatsMap, type NatsValue } from './nats-conf';

/** What one NATS user may do. */
export interface UserPermissions {
  user: string;
  /** The `$NAME` the password is read from, or undefined when it is not a variable. */
  passwordVariable: string | undefined;
  /** undefined: no `permissions` block (everything allowed). */
  publishAllow: string[] | undefined;
  subscribeAllow: string[] | undefined;
  /** Keys other than publish.allow / subscribe.allow (deny lists, allow_responses...). */
  otherRules: string[];
}

/**
 * The publish permissions a service needs, derived from the event catalog and the listener table:
 * its own events, its dead letters, the JetStream API calls of `ensureStreams` (all streams), of its
 * `Listener`s (create/update with the filter subject, info, pull, ack of its own durables) and of the ordered
 * consumers of the stream it serves to browsers, if it does.
 */
export function expectedPublish(service: ServiceName): string[] {
  const listened = listenedSubjects[service];
  const allow: string[] = [...publishedSubjects(service)];
  if (listened.length > 0) allow.push(deadLetterSubject(service, '>'));
  allow.push('$JS.API.INFO');
  for (const stream of streamNames) {
    allow.push(
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
      `$JS.API.STREAM.UPDATE.${stream}`,
    );
  }
  for (const subject of listened) {
    const stream = eventCatalog[subject].stream;
    const durable = durableName(service, subject);
    allow.push(
      `$JS.API.CONSUMER.CREATE.${stream}.${durable}.${subject}`,
      `$JS.API.CONSUMER.INFO.${stream}.${durable}`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
      `$JS.ACK.${stream}.${durable}.>`,
    );
  }
  // Replicas wake each other's read-your-writes waits (ChangeNotices): core NATS, no JetStream.
  allow.push(changeNoticeSubject(service));
  const served = eventStreamOf[service];
  if (served) {
    // The ordered consumers of its event stream (EventStreamHub): random names, no filter subject.
    for (const call of ['CREATE', 'MSG.NEXT', 'DELETE']) allow.push(`$JS.API.CONSUMER.${call}.${served}.*`);
  }
  return allow;
}

/**
 * Services subscribe to their own reply inboxes (JetStream API answers, pulled messages) and their replicas'
 * change notices only: events arrive through pull consumers, and another service's deliveries stay out of reach.
 */
export function expectedSubscribe(service: ServiceName): string[] {
  const inbox = `${serviceInboxPrefix(service)}.>`;
  return [inbox, changeNoticeSubject(service)];
}

/** The environment variable a user's password comes from (auth.conf ↔ the NATS container's env). */
export function passwordVariable(user: string): string {
  return `NATS_PASSWORD_${user.toUpperCase()}`;
}

function stringList(value: NatsValue | undefined, where: string): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item) => {
    if (typeof item !== 'string') throw new Error(`${where}: expected subjects (strings)`);
    return item;
  });
}

/** Reads `authorization.users` of a parsed config. */
export function readUsers(conf: NatsMap): UserPermissions[] {
  const authorization = conf.authorization;
  if (!isMap(authorization) || !Array.isArray(authorization.users)) {
    throw new Error('the NATS config has no authorization { users: [...] } block');
  }
  return authorization.users.map((entry, index) => {
    if (!isMap(entry) || typeof entry.user !== 'string')
      throw new Error(`authorization.users[${index}] has no user`);
    const user = entry.user;
    const permissions = entry.permissions;
    const result: UserPermissions = {
      user,
      passwordVariable: isVariable(entry.password) ? entry.password.variable : undefined,
      publishAllow: undefined,
      subscribeAllow: undefined,
      otherRules: Object.keys(entry).filter((key) => !['user', 'password', 'permissions'].includes(key)),
    };
    if (permissions === undefined) return result;
    if (!isMap(permissions)) throw new Error(`user ${user}: permissions must be a block`);
    for (const [kind, rules] of Object.entries(permissions)) {
      if ((kind !== 'publish' && kind !== 'subscribe') || !isMap(rules)) {
        result.otherRules.push(`permissions.${kind}`);
        continue;
      }
      for (const key of Object.keys(rules))
        if (key !== 'allow') result.otherRules.push(`permissions.${kind}.${key}`);
      const allow = stringList(rules.allow, `user ${user}: permissions.${kind}.allow`);
      if (kind === 'publish') result.publishAllow = allow;
      else result.subscribeAllow = allow;
    }
    return result;
  });
}

function difference(label: string, actual: string[] | undefined, expected: string[]): string[] {
  if (actual === undefined) return [`${label}: no allow list (everything is allowed)`];
  const problems: string[] = [];
  const duplicates = actual.filter((item, i) => actual.indexOf(item) !== i);
  for (const item of new Set(duplicates)) problems.push(`${label}: "${item}" listed twice`);
  for (const item of expected) if (!actual.includes(item)) problems.push(`${label}: missing "${item}"`);
  for (const item of actual) if (!expected.includes(item)) problems.push(`${label}: not needed "${item}"`);
  return problems;
}

/**
 * Every difference between the users of the config and what the services need: a service user per service
 * with exactly its publish and subscribe permissions and a password from NATS_PASSWORD_<USER>, plus the
 * listed unrestricted operator users. An empty list means the config is exactly right.
 */
export function permissionProblems(users: UserPermissions[], operators: string[] = ['admin']): string[] {
  const problems: string[] = [];
  const names = users.map((u) => u.user);
  for (const name of [...serviceNames, ...operators]) {
    if (!names.includes(name)) problems.push(`user ${name}: missing`);
  }
  for (const user of users) {
    const label = `user ${user.user}`;
    if (names.filter((n) => n === user.user).length > 1) problems.push(`${label}: defined twice`);
    if (user.passwordVariable !== passwordVariable(user.user)) {
      problems.push(
        `${label}: password must be $${passwordVariable(user.user)} (from the Secret nats-users)`,
      );
    }
    for (const rule of user.otherRules) problems.push(`${label}: unexpected ${rule}`);
    const service = serviceNames.find((s) => s === user.user);
    if (service) {
      problems.push(...difference(`${label} publish`, user.publishAllow, expectedPublish(service)));
      problems.push(...difference(`${label} subscribe`, user.subscribeAllow, expectedSubscribe(service)));
    } else if (!operators.includes(user.user)) {
      problems.push(`${label}: not a service of the system nor an operator user`);
    } else if (user.publishAllow !== undefined || user.subscribeAllow !== undefined) {
      problems.push(`${label}: operator user is expected to be unrestricted`);
    }
  }
  return problems;
}

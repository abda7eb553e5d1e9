/**
 * The directory bulk add uses when the bot has no app registration (`npm start`, `npm run playground`): about
 * twenty made-up people of the playground's tenant, so that a newcomer can try "Add people" locally. The first
 * six are the playground's own mock users (same object ids), so people added here are the ones its windows
 * show. `docs/bulkadd/sample-people.csv` names them.
 */
import type { PersonRef } from './addressList';
import { refKey, type DirectoryAnswer, type DirectoryUser, type UserDirectory } from './ports';

/** The Agents Playground's tenant (its built-in configuration). */
export const SAMPLE_TENANT_ID = '00000000-0000-0000-0000-0000000000001';

interface SamplePerson {
  name: string;
  upn: string;
  id: string;
  mobile?: string;
  guest?: boolean;
}

const PEOPLE: SamplePerson[] = [
  { name: 'Alex Wilber', upn: 'alexw@example.com', id: '00000000-0000-0000-0000-0000000000020', mobile: '+14255550100' },
  { name: 'Megan Bowen', upn: 'meganb@example.com', id: '00000000-0000-0000-0000-0000000000021', mobile: '+14255550101' },
  { name: 'Adele Vance', upn: 'adelev@example.com', id: '00000000-0000-0000-0000-0000000000022', mobile: '+14255550102' },
  { name: 'Isaiah Langer', upn: 'isaiah@example.com', id: '00000000-0000-0000-0000-0000000000023' },
  { name: 'Patti Fernandez', upn: 'pattif@example.com', id: '00000000-0000-0000-0000-0000000000024' },
  { name: 'Lynne Robbins', upn: 'lynner@example.com', id: '00000000-0000-0000-0000-0000000000025' },
  { name: 'Diego Siciliani', upn: 'diegos@example.com', id: '00000000-0000-0000-0000-0000000000026', mobile: '+14255550106' },
  { name: 'Grady Archie', upn: 'gradya@example.com', id: '00000000-0000-0000-0000-0000000000027' },
  { name: 'Henrietta Mueller', upn: 'henriettam@example.com', id: '00000000-0000-0000-0000-0000000000028' },
  { name: 'Johanna Lorenz', upn: 'johannal@example.com', id: '00000000-0000-0000-0000-0000000000029', mobile: '+4915155500109' },
  { name: 'Joni Sherman', upn: 'jonis@example.com', id: '00000000-0000-0000-0000-0000000000030' },
  { name: 'Lee Gu', upn: 'leeg@example.com', id: '00000000-0000-0000-0000-0000000000031', mobile: '+6591550111' },
  { name: 'Lidia Holloway', upn: 'lidiah@example.com', id: '00000000-0000-0000-0000-0000000000032' },
  { name: 'Miriam Graham', upn: 'miriamg@example.com', id: '00000000-0000-0000-0000-0000000000033' },
  { name: 'Nestor Wilke', upn: 'nestorw@example.com', id: '00000000-0000-0000-0000-0000000000034', mobile: '+14255550114' },
  { name: 'Pradeep Gupta', upn: 'pradeepg@example.com', id: '00000000-0000-0000-0000-0000000000035', mobile: '+919855500115' },
  { name: 'Raul Razo', upn: 'raulr@example.com', id: '00000000-0000-0000-0000-0000000000036' },
  { name: 'Alan Steiner', upn: 'alans@example.com', id: '00000000-0000-0000-0000-0000000000037' },
  { name: 'Christie Cline', upn: 'christiec@example.com', id: '00000000-0000-0000-0000-0000000000038' },
  { name: 'Kai Contractor (guest)', upn: 'kai_partner.example#ext#@example.com', id: '00000000-0000-0000-0000-0000000000039', guest: true },
];

/** The playground's six mock users by object id: its connector knows a person only by their channel id. */
const PLAYGROUND_CHANNEL_IDS = new Map(PEOPLE.slice(0, 6).map((person, i) => [person.id, `user-id-${i}`]));

/**
 * Who to ask the channel for a chat with: Teams takes the object id; the Agents Playground's connector (its
 * service URL's path ends in `/_connector`) answers "User not found" to any send into a chat made for an id it does
 * not know, so its six mock users are asked for by their playground ids (the others cannot be reached there).
 */
export function sampleChannelUserId(userId: string, serviceUrl: string): string {
  let path: string;
  try {
    path = new URL(serviceUrl).pathname.replace(/\/+$/, '');
  } catch {
    return userId;
  }
  return path.endsWith('/_connector') ? (PLAYGROUND_CHANNEL_IDS.get(userId) ?? userId) : userId;
}

export class SampleDirectory implements UserDirectory {
  private readonly byRef = new Map<string, DirectoryUser>();

  /** `tenantId`: the organization its people belong to (the playground's by default; tests give their own). */
  constructor(tenantId: string = SAMPLE_TENANT_ID) {
    for (const person of PEOPLE) {
      const user: DirectoryUser = {
        id: person.id,
        displayName: person.name,
        userPrincipalName: person.upn,
        tenantId,
        guest: person.guest === true,
      };
      this.byRef.set(refKey({ kind: 'upn', value: person.upn }), user);
      this.byRef.set(refKey({ kind: 'objectId', value: person.id }), user);
      if (person.mobile) this.byRef.set(refKey({ kind: 'mobile', value: person.mobile }), user);
    }
  }

  async lookup(refs: readonly PersonRef[]): Promise<Map<string, DirectoryAnswer>> {
    const answers = new Map<string, DirectoryAnswer>();
    for (const ref of refs) {
      const user = this.byRef.get(refKey(ref));
      answers.set(refKey(ref), user ? { found: user } : { missing: 'unknown' });
    }
    return answers;
  }
}

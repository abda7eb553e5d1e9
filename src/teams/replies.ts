import type { Attachment } from 'botbuilder';

/** What a command or a card action answers: an optional line of text, then cards. */
export interface Reply {
  text?: string;
  cards: Attachment[];
}

export const textReply = (text: string): Reply => ({ text, cards: [] });
export const cardReply = (...cards: Attachment[]): Reply => ({ cards });

/** A reply with another's cards after its own (a Post it offer after the answer); `more` absent: the reply. */
export const followedBy = (reply: Reply, more?: Reply): Reply => (more ? { ...reply, cards: [...reply.cards, ...more.cards] } : reply);

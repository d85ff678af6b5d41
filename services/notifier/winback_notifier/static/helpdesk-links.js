// The helpdesk tickets kept in step with a case (Zendesk), as links for the case panel. Only an
// http(s) address becomes a link: the URL comes from the server, but a link is never a way to
// run script in the console.

const SYSTEMS = { zendesk: "Zendesk" };

// [{ label, href }] for the tickets of a case's detail (`GET /api/cases/{id}`); `href` is null
// when the stored address is not http(s).
export function ticketLinks(detail) {
  const tickets = (detail && detail.tickets) || [];
  return tickets.map((ticket) => {
    const system = SYSTEMS[ticket.system] || ticket.system;
    let href = null;
    try {
      const url = new URL(ticket.url);
      if (url.protocol === "https:" || url.protocol === "http:") href = url.href;
    } catch {
      href = null;
    }
    return { label: `${system} ticket #${ticket.ticket_id}`, href };
  });
}

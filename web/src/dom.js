// Building DOM nodes for the report pages (scenarios, portal): text goes in as text, never as
// markup, and styles through the CSSOM (allowed by the pages' Content-Security-Policy).

/** `<tag>` with attributes (`text`: its text content; `style`: an object of style properties). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else if (name === 'style') Object.assign(node.style, value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

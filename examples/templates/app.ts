/**
 * A small library catalogue rendered from templates: a base layout that the page extends, a
 * table whose rows come from a UI module (which also brings its style sheet), a UI method, an
 * XSRF-protected form, and Spanish strings chosen by `Accept-Language` (or `?lang=`).
 *
 * Run it: `node examples/templates/app.ts [port]` (default 8888), then open
 * http://127.0.0.1:8888/ — and again with your browser set to Spanish, or /?lang=es.
 */
import { fileURLToPath } from 'node:url';
import { Locale, loadTranslations } from '../../src/locale/index.ts';
import { Application, RequestHandler, UIModule, url } from '../../src/web/index.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** A book of the catalogue. */
export interface Book {
  title: string;
  author: string;
  year?: number;
}

/** One table row per book; the page links `books.css` once, however many rows it has. */
class BookRow extends UIModule {
  override render(book: Book): string {
    return this.renderString('modules/book.html', { book });
  }
  override cssFiles(): string[] {
    return ['books.css'];
  }
}

/** UI methods get the handler first: `{{ bookCount(3) }}` → "3 books" in the page's language. */
const uiMethods = {
  bookCount(handler: RequestHandler, count: number): string {
    return handler.locale
      .translate('%(count)s book', '%(count)s books', count)
      .replace('%(count)s', String(count));
  },
};

class BaseHandler extends RequestHandler {
  /** `?lang=es` wins over the browser's Accept-Language. */
  override getUserLocale(): Locale | null {
    const lang = this.getArgument('lang', null);
    return lang === null ? null : Locale.getClosest(lang);
  }
}

class CatalogueHandler extends BaseHandler {
  books: Book[] = [];
  override initialize(args: { books: Book[] }): void {
    this.books = args.books;
  }
  override get() {
    return this.render('index.html', { books: this.books });
  }
}

class AddHandler extends BaseHandler {
  books: Book[] = [];
  override initialize(args: { books: Book[] }): void {
    this.books = args.books;
  }
  override post() {
    this.books.push({ title: this.getArgument('title'), author: '?' });
    this.redirect(this.reverseUrl('catalogue'));
  }
}

/** Build the application (tests start it on a free port); each app has its own catalogue. */
export function makeTemplatesApp(options: { debug?: boolean } = {}): Application {
  loadTranslations(here('translations'));
  const books: Book[] = [
    { title: 'Dune', author: 'Frank Herbert', year: 1965 },
    { title: 'Cien años de soledad', author: 'Gabriel García Márquez', year: 1967 },
    { title: 'Tags <b> & "quotes" are only text', author: 'Anonymous' },
  ];
  return new Application(
    [url('/', CatalogueHandler, { books }, 'catalogue'), url('/add', AddHandler, { books }, 'add')],
    {
      templatePath: here('templates'),
      staticPath: here('static'),
      uiModules: { BookRow },
      uiMethods,
      xsrfCookies: true,
      debug: options.debug ?? false,
    },
  );
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 8888);
  const server = await makeTemplatesApp().listen(port, '127.0.0.1');
  console.log(`listening on http://127.0.0.1:${server.address()?.port ?? port}/`);
  process.on('SIGINT', () => void server.stop().then(() => process.exit(0)));
}

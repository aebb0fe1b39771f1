// The Author field of the config page, remembered in the browser (localStorage 'cairn.author').
import { useState } from 'react';

export function useAuthor(): [string, (author: string) => void] {
  const [author, setAuthor] = useState(() => localStorage.getItem('cairn.author') ?? 'console');
  return [
    author,
    (a: string) => {
      localStorage.setItem('cairn.author', a);
      setAuthor(a);
    },
  ];
}
